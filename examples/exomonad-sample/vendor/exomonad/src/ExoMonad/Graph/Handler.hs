{-# LANGUAGE DataKinds #-}
{-# LANGUAGE KindSignatures #-}

-- | What an LLM node's handler supplies: templates, and the logic around the call.
module ExoMonad.Graph.Handler
  ( LLMHandler(..)
  ) where

import Data.Kind (Type)

import ExoMonad.Effect (Eff, Effect)
import ExoMonad.Graph.Goto (GotoChoice)
import ExoMonad.Graph.Template (TypedTemplate)

-- | @before@ turns the node's input into the template context; the runtime renders
-- the prompt, calls the model and decodes its answer; @after@ picks the next node.
data LLMHandler (es :: [Effect]) input context schema (targets :: [Type]) = LLMHandler
  { llmSystemTemplate :: Maybe (TypedTemplate context)
  , llmUserTemplate :: TypedTemplate context
  , llmBefore :: input -> Eff es context
  , llmAfter :: schema -> Eff es (GotoChoice targets)
  }
