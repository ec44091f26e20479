{-# LANGUAGE DataKinds #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE PolyKinds #-}
{-# LANGUAGE TypeFamilies #-}
{-# LANGUAGE TypeOperators #-}
{-# LANGUAGE UndecidableInstances #-}

-- | Graphs as records: one field per node, typed @mode :- NodeKind :\@ annotations@.
--
-- The same record read in 'AsHandler' mode is the record of handlers, each field's
-- type computed from its node's annotations, so graph and handlers cannot drift.
module ExoMonad.Graph.Generic
  ( GraphMode(..)
  , AsGraph
  , AsHandler
  , Entry
  , Exit
  , LLMNode
  , LogicNode
  , NodeHandler
  ) where

import Data.Kind (Type)
import Data.Proxy (Proxy)
import Data.Text (Text)
import GHC.TypeLits (ErrorMessage(..), TypeError)

import ExoMonad.Effect (Eff, Effect)
import ExoMonad.Graph.Goto (GotoChoice, GotoTargets)
import ExoMonad.Graph.Handler (LLMHandler)
import ExoMonad.Graph.Template (TemplateDef(..))
import ExoMonad.Graph.Types (type (:@), Needs, Schema, Template, UsesEffects)

class GraphMode (mode :: Type) where
  -- | What a node declaration means in this mode.
  type (mode :: Type) :- (node :: Type) :: Type
infixl 1 :-

-- | The declarations themselves.
data AsGraph

instance GraphMode AsGraph where
  type AsGraph :- node = node

-- | The handlers, running in @Eff es@.
data AsHandler (es :: [Effect])

instance GraphMode (AsHandler es) where
  type AsHandler es :- node = NodeHandler node es

-- | Where a run starts, with its input.
data Entry (input :: Type)

-- | Where a run ends, with its result.
data Exit (output :: Type)

-- | A node that renders a template and asks a model.
data LLMNode

-- | A node of plain code.
data LogicNode

type family NodeHandler (node :: Type) (es :: [Effect]) :: Type where
  NodeHandler (Entry input) es = Proxy input
  NodeHandler (Exit output) es = Proxy output
  NodeHandler node es = KindHandler (KindOf node) node es

type family KindHandler (kind :: Type) (node :: Type) (es :: [Effect]) :: Type where
  KindHandler LLMNode node es =
    LLMHandler es (InputOf node) (TemplateContext (TemplateOf node)) (SchemaOf node)
               (GotoTargets (EffectsOf node))
  KindHandler LogicNode node es =
    InputOf node -> Eff es (GotoChoice (GotoTargets (EffectsOf node)))
  KindHandler kind node es =
    TypeError ('Text "not a node kind: " ':<>: 'ShowType kind)

type family KindOf (node :: Type) :: Type where
  KindOf (node :@ annotation) = KindOf node
  KindOf node = node

type family InputOf (node :: Type) :: Type where
  InputOf (node :@ Needs '[input]) = input
  InputOf (node :@ annotation) = InputOf node
  InputOf node = TypeError ('Text "a node needs exactly one input: Needs '[Input]")

type family TemplateOf (node :: Type) :: Type where
  TemplateOf (node :@ Template template) = template
  TemplateOf (node :@ annotation) = TemplateOf node
  TemplateOf node = TypeError ('Text "an LLMNode needs a Template annotation")

type family SchemaOf (node :: Type) :: Type where
  SchemaOf (node :@ Schema output) = output
  SchemaOf (node :@ annotation) = SchemaOf node
  SchemaOf node = Text

type family EffectsOf (node :: Type) :: [Effect] where
  EffectsOf (node :@ UsesEffects effects) = effects
  EffectsOf (node :@ annotation) = EffectsOf node
  EffectsOf node = '[]
