{-# LANGUAGE DataKinds #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE PolyKinds #-}
{-# LANGUAGE TypeOperators #-}

-- | The annotations a graph node carries: @Kind :\@ Needs '[In] :\@ Template T ...@.
--
-- They are empty types: only the type-level shape matters, read by
-- "ExoMonad.Graph.Generic" (handler types) and "ExoMonad.Graph.Validate" (edges).
module ExoMonad.Graph.Types
  ( type (:@)
  , Needs
  , Template
  , Schema
  , UsesEffects
  , Exit
  ) where

import Data.Kind (Type)

import ExoMonad.Effect (Effect)

-- | A node kind with one more annotation; left-associative, so annotations read in order.
data (node :: Type) :@ (annotation :: Type)
infixl 5 :@

-- | The payload the node is entered with (one type: @Needs '[In]@).
data Needs (inputs :: [Type])

-- | The 'ExoMonad.Graph.Template.TemplateDef' that renders the node's prompt.
data Template (template :: Type)

-- | What the LLM must answer with; 'Data.Text.Text' when absent.
data Schema (output :: Type)

-- | Effects the node's handler may use, 'ExoMonad.Graph.Goto.Goto' edges among them.
data UsesEffects (effects :: [Effect])

-- | The target of @Goto Exit payload@: leave the graph.
data Exit
