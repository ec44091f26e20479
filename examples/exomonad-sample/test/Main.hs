{-# LANGUAGE DataKinds #-}
{-# LANGUAGE DuplicateRecordFields #-}
{-# LANGUAGE GADTs #-}
{-# LANGUAGE OverloadedStrings #-}
{-# LANGUAGE TypeApplications #-}

-- | The sample's behaviour, checked without a test framework (none ships with GHC):
-- each check prints PASS or FAIL with what differed, and any FAIL exits non-zero.
module Main (main) where

import Control.Monad (unless)
import Data.IORef (modifyIORef, newIORef, readIORef)
import Data.Proxy (Proxy(..))
import Data.Text (Text)
import qualified Data.Text as T
import System.Exit (exitFailure)

import ExoMonad.Effect (Eff, interpret, runEff)
import ExoMonad.Effects.Log (Log, runLogWith)
import ExoMonad.Graph.Generic (AsHandler)
import ExoMonad.Graph.Goto (ChoiceTarget, GotoChoice, choicePayload, choiceTarget)
import ExoMonad.Graph.Handler (LLMHandler(..))
import ExoMonad.Graph.Template (renderTemplate)
import ExoMonad.Graph.Types (Exit)
import ExoMonad.Schema (jsonSchema, renderSchema)
import ExoMonad.Template.Value (ToGVal)

import Triage.Context
import Triage.Effects (PaymentApi(..), RefundOutcome(..))
import Triage.Graph (TriageGraph(..))
import Triage.Handlers (triageHandlers)
import Triage.Types

type Effects = '[PaymentApi, Log]

handlers :: TriageGraph (AsHandler Effects)
handlers = triageHandlers

-- | Run a handler with a payment provider that answers @outcome@ and a silent log.
run :: RefundOutcome -> Eff Effects a -> IO a
run outcome = runEff . runLogWith (\_ -> pure ()) . interpret pay
  where
    pay :: PaymentApi m b -> Eff '[Log] b
    pay (IssueRefund _ _) = pure outcome

approved :: RefundOutcome
approved = Refunded "R-1"

ticket1 :: Ticket
ticket1 = Ticket "T-1" "C-9" "Where is my parcel?" "Ordered last week, nothing yet."

classified :: Category -> Maybe Text -> Classification
classified c order =
  Classification { category = c, confidence = 0.9, orderId = order, ticket = ticket1 }

-- | Record one check: its name, whether it held, and what to show when it did not.
type Check = String -> Bool -> String -> IO ()

expectWith :: (Eq a, Show a) => Check -> String -> a -> a -> IO ()
expectWith check name want got =
  check name (want == got) ("expected " <> show want <> ", got " <> show got)

main :: IO ()
main = do
  failures <- newIORef (0 :: Int)
  let check :: Check
      check name ok detail = do
        putStrLn ((if ok then "PASS " else "FAIL ") <> name <> if ok then "" else ": " <> detail)
        unless ok (modifyIORef failures (+ 1))
      expect :: (Eq a, Show a) => String -> a -> a -> IO ()
      expect = expectWith check

  -- route: each category to the right node, with the right payload
  let routed c order = run approved (route handlers (classified c order))
  routeTo <- mapM (fmap targetOf . uncurry routed)
    [ (Question, Nothing), (RefundAsk, Just "O-7"), (RefundAsk, Nothing), (Complaint, Nothing)
    , (Other, Just "O-7") ]
  expect "route sends each category to its node"
    ["answerFaq", "refund", "escalate", "escalate", "escalate"] routeTo
  faq <- routed Question Nothing
  expect "route asks the FAQ node the ticket's body"
    (Just (FaqQuery "Ordered last week, nothing yet." "standard")) (choicePayload @"answerFaq" faq)
  refundAsk <- routed RefundAsk (Just "O-7")
  expect "route hands the refund node the order id"
    (Just "O-7") (refundOrder <$> choicePayload @"refund" refundAsk)

  -- refund: the auto-approve limit decides who signs off
  let refunded amount outcome = run outcome (refund handlers (RefundRequest "O-7" amount "broken"))
  atLimit <- refunded 5000 approved
  expect "a refund at the limit is issued"
    ("summarize", Just (Draft "Refund issued, reference R-1"))
    (targetOf atLimit, choicePayload @"summarize" atLimit)
  aboveLimit <- refunded 5001 approved
  expect "a refund above the limit is escalated"
    ("escalate", Just "refund above auto-approve limit")
    (targetOf aboveLimit, escalationWhy <$> choicePayload @"escalate" aboveLimit)
  declined <- refunded 100 (NeedsApproval "card expired")
  expect "a refund the provider holds back is escalated with its reason"
    (Just "card expired") (escalationWhy <$> choicePayload @"escalate" declined)

  -- summarize: the reply leaves the graph, trimmed
  let LLMHandler _ _ _ summarizeAfter = summarize handlers
  done <- run approved (summarizeAfter (Reply "  Thanks!\n" True))
  expect "summarize exits with the trimmed reply"
    ("exit", Just (Reply "Thanks!" True)) (targetOf done, choicePayload @Exit done)

  -- templates: each renders its context completely
  classifyCtx <- run approved (llmBefore (classify handlers) ticket1)
  renders check "classify" (classify handlers) classifyCtx
    ["Where is my parcel?", "Ordered last week, nothing yet.", "- question", "- other"]
  let kb = [KbDocument "Shipping times" "Parcels take 3-5 days.", KbDocument "Returns" "30 days."]
  renders check "faq" (answerFaq handlers) (FaqContext "Where is it?" "gold" kb)
    [ "Where is it?", "gold plan", "=== Shipping times ===", "Parcels take 3-5 days."
    , "=== Returns ===" ]
  escalateCtx <- run approved (llmBefore (escalate handlers) (Escalation ticket1 "angry customer"))
  renders check "escalate" (escalate handlers) escalateCtx
    ["Where is my parcel?", "Why it was escalated: angry customer", "Ordered last week"]
  summarizeCtx <- run approved (llmBefore (summarize handlers) (Draft "Your refund is on its way."))
  renders check "summarize" (summarize handlers) summarizeCtx
    ["\"there\"", "Your refund is on its way."]

  -- schema: what the classify node must answer with
  let schema = renderSchema (jsonSchema (Proxy :: Proxy Classification))
  check "the Classification schema requires all but orderId"
    ("\"required\":[\"category\",\"confidence\",\"ticket\"]" `T.isInfixOf` schema) (T.unpack schema)

  failed <- readIORef failures
  unless (failed == 0) $ do
    putStrLn (show failed <> " check(s) failed")
    exitFailure
  where
    refundOrder RefundRequest { orderId = o } = o
    escalationWhy Escalation { why = w } = w

targetOf :: ChoiceTarget targets => GotoChoice targets -> String
targetOf = choiceTarget

-- | Render a node's template: every expected text appears, no tag is left behind.
renders
  :: ToGVal context
  => Check
  -> String -> LLMHandler es input context schema targets -> context -> [Text] -> IO ()
renders check name handler context expected = do
  let text = renderTemplate (llmUserTemplate handler) context
      missing = filter (not . (`T.isInfixOf` text)) expected
      leftover = filter (`T.isInfixOf` text) ["{{", "}}", "{%", "%}"]
  check ("the " <> name <> " template renders its whole context")
    (null missing && null leftover)
    ("missing " <> show missing <> ", left over " <> show leftover <> " in:\n" <> T.unpack text)
