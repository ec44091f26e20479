{-# LANGUAGE AllowAmbiguousTypes #-}
{-# LANGUAGE DataKinds #-}
{-# LANGUAGE EmptyCase #-}
{-# LANGUAGE FlexibleContexts #-}
{-# LANGUAGE FlexibleInstances #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE MultiParamTypeClasses #-}
{-# LANGUAGE PolyKinds #-}
{-# LANGUAGE ScopedTypeVariables #-}
{-# LANGUAGE TypeApplications #-}
{-# LANGUAGE TypeFamilies #-}
{-# LANGUAGE TypeOperators #-}
{-# LANGUAGE UndecidableInstances #-}

-- | Edges. A node declares @Goto "target" Payload@ among its effects; its handler
-- returns a 'GotoChoice' over exactly those targets, built with 'gotoChoice'.
--
-- A choice of a target the node does not declare, or with the wrong payload, is a
-- type error; so is a handler whose choice list differs from the graph's.
module ExoMonad.Graph.Goto
  ( Goto
  , To
  , GotoChoice
  , GotoTargets
  , CanGoto
  , gotoChoice
  , gotoExit
  , ChoiceTarget
  , choiceTarget
  , choicePayload
  ) where

import Data.Kind (Type)
import Data.Proxy (Proxy(..))
import GHC.TypeLits (ErrorMessage(..), KnownSymbol, Symbol, TypeError, symbolVal)

import ExoMonad.Effect (Effect)
import ExoMonad.Graph.Types (Exit)

-- | The effect "may continue at @target@ (a node name, or 'Exit') with @payload@".
data Goto (target :: k) (payload :: Type) :: Effect

-- | One possible continuation of a handler.
data To (target :: k) (payload :: Type)

-- | Which of @targets@ was taken, with its payload.
data GotoChoice (targets :: [Type]) where
  Here :: payload -> GotoChoice (To target payload ': rest)
  There :: GotoChoice rest -> GotoChoice (other ': rest)

-- | The 'To' list of an effect list: its 'Goto' effects, in order.
type family GotoTargets (effects :: [Effect]) :: [Type] where
  GotoTargets '[] = '[]
  GotoTargets (Goto target payload ': rest) = To target payload ': GotoTargets rest
  GotoTargets (other ': rest) = GotoTargets rest

class CanGoto (target :: k) (payload :: Type) (targets :: [Type]) where
  inject :: payload -> GotoChoice targets
  project :: GotoChoice targets -> Maybe payload

instance {-# OVERLAPPING #-} payload ~ declared
  => CanGoto target payload (To target declared ': rest) where
  inject = Here
  project choice = case choice of
    Here payload -> Just payload
    There _ -> Nothing

instance CanGoto target payload rest => CanGoto target payload (other ': rest) where
  inject = There . inject @_ @target
  project choice = case choice of
    Here _ -> Nothing
    There next -> project @_ @target next

instance TypeError ('Text "this handler declares no Goto to " ':<>: 'ShowType target
                    ':<>: 'Text " carrying " ':<>: 'ShowType payload)
  => CanGoto target payload '[] where
  inject = error "unreachable: rejected at compile time"
  project = error "unreachable: rejected at compile time"

-- | Continue at @target@: @gotoChoice \@"summarize" draft@.
gotoChoice :: forall target payload targets. CanGoto target payload targets
  => payload -> GotoChoice targets
gotoChoice = inject @_ @target

-- | Leave the graph with the exit payload.
gotoExit :: forall payload targets. CanGoto Exit payload targets
  => payload -> GotoChoice targets
gotoExit = inject @_ @Exit

-- | The payload if @target@ was chosen (for tests and tracing).
choicePayload :: forall target payload targets. CanGoto target payload targets
  => GotoChoice targets -> Maybe payload
choicePayload = project @_ @target

-- | A target's name as logs show it: the node name, or @exit@.
type family TargetName (target :: k) :: Symbol where
  TargetName (name :: Symbol) = name
  TargetName Exit = "exit"

class ChoiceTarget (targets :: [Type]) where
  -- | The name of the target that was chosen.
  choiceTarget :: GotoChoice targets -> String

instance ChoiceTarget '[] where
  choiceTarget choice = case choice of {}

instance (KnownSymbol (TargetName target), ChoiceTarget rest)
  => ChoiceTarget (To target payload ': rest) where
  choiceTarget choice = case choice of
    Here _ -> symbolVal (Proxy :: Proxy (TargetName target))
    There next -> choiceTarget next
