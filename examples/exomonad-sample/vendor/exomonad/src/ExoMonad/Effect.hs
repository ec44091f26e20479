{-# LANGUAGE DataKinds #-}
{-# LANGUAGE FlexibleInstances #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE MultiParamTypeClasses #-}
{-# LANGUAGE RankNTypes #-}
{-# LANGUAGE TypeOperators #-}

-- | A small stand-in for effectful's 'Eff': effects are GADTs of kind 'Effect', a
-- computation lists the effects it may use, and 'interpret' supplies a handler.
--
-- It is a reader of handlers over IO, nothing more: enough for handlers to be
-- written and tested the way they are against the real library.
module ExoMonad.Effect
  ( Effect
  , Eff
  , type (:>)
  , send
  , interpret
  , runEff
  ) where

import Data.Kind (Type)

-- | The kind of an effect: its operations, indexed by the monad and the result.
type Effect = (Type -> Type) -> Type -> Type

newtype Handler (e :: Effect) = Handler (forall m a. e m a -> IO a)

-- | The handlers of @es@, in the order of the list.
data Handlers (es :: [Effect]) where
  NoHandlers :: Handlers '[]
  (:&) :: Handler e -> Handlers es -> Handlers (e ': es)

newtype Eff (es :: [Effect]) a = Eff (Handlers es -> IO a)

runWith :: Handlers es -> Eff es a -> IO a
runWith handlers (Eff run) = run handlers

instance Functor (Eff es) where
  fmap f (Eff run) = Eff (fmap f . run)

instance Applicative (Eff es) where
  pure x = Eff (\_ -> pure x)
  Eff f <*> Eff x = Eff (\hs -> f hs <*> x hs)

instance Monad (Eff es) where
  Eff x >>= k = Eff (\hs -> x hs >>= runWith hs . k)

-- | @e :> es@: the effect @e@ is in @es@, so its operations may be 'send'.
class (e :: Effect) :> (es :: [Effect]) where
  handlerOf :: Handlers es -> Handler e

instance {-# OVERLAPPING #-} e :> (e ': es) where
  handlerOf (h :& _) = h

instance e :> es => e :> (other ': es) where
  handlerOf (_ :& hs) = handlerOf hs

-- | Perform one operation of an effect in scope.
send :: e :> es => e (Eff es) a -> Eff es a
send op = Eff (\hs -> case handlerOf hs of Handler run -> run op)

-- | Handle the outermost effect with operations written in the remaining ones.
interpret :: (forall m b. e m b -> Eff es b) -> Eff (e ': es) a -> Eff es a
interpret handle (Eff run) = Eff (\hs -> run (Handler (runWith hs . handle) :& hs))

runEff :: Eff '[] a -> IO a
runEff = runWith NoHandlers
