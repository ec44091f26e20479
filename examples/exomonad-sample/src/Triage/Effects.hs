{-# LANGUAGE DataKinds #-}
{-# LANGUAGE DerivingStrategies #-}
{-# LANGUAGE FlexibleContexts #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE TypeOperators #-}

-- | The payment provider, as an effect so the refund node can be tested
-- without touching real money.
module Triage.Effects
  ( PaymentApi(..)
  , RefundOutcome(..)
  , issueRefund
  ) where

import Data.Text (Text)

import ExoMonad.Effect (Eff, Effect, send, type (:>))

data RefundOutcome
  = Refunded Text       -- ^ provider reference
  | NeedsApproval Text  -- ^ why a human must sign off
  deriving stock (Show, Eq)

data PaymentApi :: Effect where
  IssueRefund :: Text -> Int -> PaymentApi m RefundOutcome

issueRefund :: PaymentApi :> es => Text -> Int -> Eff es RefundOutcome
issueRefund orderId amountCents = send (IssueRefund orderId amountCents)
