{-# LANGUAGE DataKinds #-}
{-# LANGUAGE OverloadedRecordDot #-}
{-# LANGUAGE TypeApplications #-}

-- | Handlers for 'TriageGraph': one field per node, same names as the graph.
module Triage.Handlers
  ( triageHandlers
  ) where

import Data.Proxy (Proxy(..))
import Data.Text (Text)
import qualified Data.Text as T
import Effectful (Eff, (:>))

import ExoMonad.Effects.Log (Log, logInfo)
import ExoMonad.Graph.Generic (AsHandler)
import ExoMonad.Graph.Goto (GotoChoice, To, gotoChoice, gotoExit)
import ExoMonad.Graph.Handler (LLMHandler(..))

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
classifyBefore t = pure ClassifyContext
  { ccSubject = t.subject
  , ccBody = t.body
  , ccCategories = ["question", "refund", "complaint", "other"]
  }

classifyAfter :: Classification -> Eff es (GotoChoice '[To "route" Classification])
classifyAfter = pure . gotoChoice @"route"

routeLogic
  :: Log :> es
  => Classification
  -> Eff es (GotoChoice '[ To "answerFaq" FaqQuery
                         , To "refund" RefundRequest
                         , To "escalate" Escalation ])
routeLogic c = do
  logInfo ("routing ticket " <> c.ticket.ticketId)
  pure $ case (c.category, c.orderId) of
    (Question, _) -> gotoChoice @"answerFaq" (FaqQuery c.ticket.body "standard")
    (RefundAsk, Just order) -> gotoChoice @"refund" (RefundRequest order 0 c.ticket.body)
    _ -> gotoChoice @"escalate" (Escalation c.ticket "not a question or refund")

faqBefore :: FaqQuery -> Eff es FaqContext
faqBefore q = pure FaqContext
  { fcQuestion = q.question
  , fcCustomerTier = q.customerTier
  , fcKbDocuments = []  -- loaded from the help centre at startup
  }

faqAfter :: FaqAnswer -> Eff es (GotoChoice '[To "summarize" Draft])
faqAfter a = pure $ gotoChoice @"summarize" (Draft a.answer)

refundLogic
  :: PaymentApi :> es
  => RefundRequest
  -> Eff es (GotoChoice '[To "summarize" Draft, To "escalate" Escalation])
refundLogic r
  | r.amountCents > autoApproveLimitCents =
      pure $ gotoChoice @"escalate" (Escalation (ticketFor r) "refund above auto-approve limit")
  | otherwise = do
      outcome <- issueRefund r.orderId r.amountCents
      pure $ case outcome of
        Refunded ref -> gotoChoice @"summarize" (Draft ("Refund issued, reference " <> ref))
        NeedsApproval why -> gotoChoice @"escalate" (Escalation (ticketFor r) why)

ticketFor :: RefundRequest -> Ticket
ticketFor r = Ticket r.orderId "" ("Refund for order " <> r.orderId) r.reason

escalateBefore :: Escalation -> Eff es EscalateContext
escalateBefore e = pure EscalateContext
  { ecSubject = e.ticket.subject
  , ecBody = e.ticket.body
  , ecReason = e.why
  }

escalateAfter :: Text -> Eff es (GotoChoice '[To "summarize" Draft])
escalateAfter note = pure $ gotoChoice @"summarize" (Draft note)

summarizeBefore :: Draft -> Eff es SummarizeContext
summarizeBefore d = pure SummarizeContext
  { scDraft = d.draftText
  , scCustomerName = "there"
  }

summarizeAfter :: Reply -> Eff es (GotoChoice '[To Exit Reply])
summarizeAfter r = pure $ gotoExit r { replyText = T.strip r.replyText }
