{-# LANGUAGE DataKinds #-}
{-# LANGUAGE FlexibleContexts #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE TypeOperators #-}

-- | Structured logging as an effect, so handlers can log without choosing a backend.
module ExoMonad.Effects.Log
  ( Log(..)
  , logInfo
  , runLogWith
  ) where

import Data.Text (Text)

import ExoMonad.Effect (Eff, Effect, interpret, send, type (:>))

data Log :: Effect where
  LogInfo :: Text -> Log m ()

logInfo :: Log :> es => Text -> Eff es ()
logInfo = send . LogInfo

-- | Hand every message to @write@ (a test collects them, a program prints them).
runLogWith :: (Text -> Eff es ()) -> Eff (Log ': es) a -> Eff es a
runLogWith write = interpret (\op -> case op of LogInfo message -> write message)
