{-# LANGUAGE DataKinds #-}
{-# LANGUAGE DuplicateRecordFields #-}
{-# LANGUAGE FlexibleContexts #-}
{-# LANGUAGE OverloadedStrings #-}
{-# LANGUAGE TypeApplications #-}
{-# LANGUAGE TypeOperators #-}

-- | Handlers for 'TriageGraph': one field per node, same names as the graph.
--
-- Each field's type is computed from its node's declaration ('AsHandler'), so a
-- handler that takes the wrong input or picks an undeclared edge does not compile.
module Triage.Handlers
  ( triageHandlers
  ) where

import Data.Proxy (Proxy(..))
import Data.Text (Text)
import qualified Data.Text as T

import ExoMonad.Effect (Eff, type (:>))
import ExoMonad.Effects.Log (Log, logInfo)
import ExoMonad.Graph.Generic (AsHandler)
import ExoMonad.Graph.Goto (GotoChoice, To, gotoChoice, gotoExit)
import ExoMonad.Graph.Handler (LLMHandler(..))
import ExoMonad.Graph.Types (Exit)

import Triage.Context
import Triage.Effects (PaymentApi, RefundOutcome(..), issueRefund)
import Triage.Graph (TriageGraph(..))
import Triage.Templates
import Triage.Types

-- | Refunds up to this amount are approved without a human.
autoApproveLimitCents :: Int
autoApproveLimitCents = 5000

triageHandlers :: (PaymentApi :> es, Log :> es) => TriageGraph (AsHandler es)
triageHandlers = TriageGraph
  { entry = Proxy @Ticket
  , classify = LLMHandler Nothing classifyCompiled classifyBefore classifyAfter
  , route = routeLogic
  , answerFaq = LLMHandler Nothing faqCompiled faqBefore faqAfter
  , refund = refundLogic
  , escalate = LLMHandler Nothing escalateCompiled escalateBefore escalateAfter
  , summarize = LLMHandler Nothing summarizeCompiled summarizeBefore summarizeAfter
  , exit = Proxy @Reply
  }

classifyBefore :: Ticket -> Eff es ClassifyContext
classifyBefore Ticket { subject = s, body = b } = pure ClassifyContext
  { subject = s
  , body = b
  , categories = ["question", "refund", "complaint", "other"]
  }

classifyAfter :: Classification -> Eff es (GotoChoice '[To "route" Classification])
classifyAfter = pure . gotoChoice @"route"

routeLogic
  :: Log :> es
  => Classification
  -> Eff es (GotoChoice '[ To "answerFaq" FaqQuery
                         , To "refund" RefundRequest
                         , To "escalate" Escalation ])
routeLogic Classification { category = c, orderId = order, ticket = t } = do
  logInfo ("routing ticket " <> ticketId t)
  pure $ case (c, order) of
    (Question, _) -> gotoChoice @"answerFaq" (FaqQuery (ticketBody t) "standard")
    (RefundAsk, Just o) -> gotoChoice @"refund" (RefundRequest o 0 (ticketBody t))
    _ -> gotoChoice @"escalate" (Escalation t "not a question or refund")

faqBefore :: FaqQuery -> Eff es FaqContext
faqBefore FaqQuery { question = q, customerTier = tier } = pure FaqContext
  { question = q
  , customer_tier = tier
  , kb_documents = []  -- loaded from the help centre at startup
  }

faqAfter :: FaqAnswer -> Eff es (GotoChoice '[To "summarize" Draft])
faqAfter FaqAnswer { answer = a } = pure $ gotoChoice @"summarize" (Draft a)

refundLogic
  :: PaymentApi :> es
  => RefundRequest
  -> Eff es (GotoChoice '[To "summarize" Draft, To "escalate" Escalation])
refundLogic r@RefundRequest { orderId = order, amountCents = amount }
  | amount > autoApproveLimitCents =
      pure $ gotoChoice @"escalate" (Escalation (ticketFor r) "refund above auto-approve limit")
  | otherwise = do
      outcome <- issueRefund order amount
      pure $ case outcome of
        Refunded ref -> gotoChoice @"summarize" (Draft ("Refund issued, reference " <> ref))
        NeedsApproval why' -> gotoChoice @"escalate" (Escalation (ticketFor r) why')

ticketFor :: RefundRequest -> Ticket
ticketFor RefundRequest { orderId = order, reason = why' } =
  Ticket order "" ("Refund for order " <> order) why'

escalateBefore :: Escalation -> Eff es EscalateContext
escalateBefore Escalation { ticket = Ticket { subject = s, body = b }, why = w } =
  pure EscalateContext
    { subject = s
    , body = b
    , reason = w
    }

escalateAfter :: Text -> Eff es (GotoChoice '[To "summarize" Draft])
escalateAfter note = pure $ gotoChoice @"summarize" (Draft note)

summarizeBefore :: Draft -> Eff es SummarizeContext
summarizeBefore (Draft text) = pure SummarizeContext
  { draft = text
  , customer_name = "there"
  }

summarizeAfter :: Reply -> Eff es (GotoChoice '[To Exit Reply])
summarizeAfter r@Reply { replyText = text } = pure $ gotoExit r { replyText = T.strip text }

-- | The ticket's text (a plain selector would be ambiguous: several records have a body).
ticketBody :: Ticket -> Text
ticketBody Ticket { body = b } = b
