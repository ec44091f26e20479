{-# LANGUAGE DataKinds #-}
{-# LANGUAGE DerivingStrategies #-}
{-# LANGUAGE DuplicateRecordFields #-}
{-# LANGUAGE TemplateHaskell #-}

-- | Payloads that flow along the triage graph's edges, and the schemas the
-- LLM nodes must answer with.
module Triage.Types
  ( -- * Entry and classification
    Ticket(..)
  , Category(..)
  , Classification(..)
    -- * Branch payloads
  , FaqQuery(..)
  , FaqAnswer(..)
  , RefundRequest(..)
  , Escalation(..)
    -- * Reply
  , Draft(..)
  , Reply(..)
    -- * Edges
  , RouteEffects
  ) where

import Data.Text (Text)

import ExoMonad.Graph.Goto (Goto)
import ExoMonad.Schema (deriveJSONSchema)

-- | An incoming support ticket.
data Ticket = Ticket
  { ticketId :: Text
  , customerId :: Text
  , subject :: Text
  , body :: Text
  }
  deriving stock (Show, Eq)

-- | What a ticket is about; decides the route.
data Category
  = Question
  | RefundAsk
  | Complaint
  | Other
  deriving stock (Show, Eq, Ord, Enum, Bounded)

-- | What the classify node must return.
data Classification = Classification
  { category :: Category
  , confidence :: Double
  , orderId :: Maybe Text  -- ^ only for refund requests
  , ticket :: Ticket
  }
  deriving stock (Show, Eq)

-- | A question for the FAQ node, with the plan that decides the tone.
data FaqQuery = FaqQuery
  { question :: Text
  , customerTier :: Text
  }
  deriving stock (Show, Eq)

-- | What the FAQ node must return: the answer and the articles it used.
data FaqAnswer = FaqAnswer
  { answer :: Text
  , sources :: [Text]
  }
  deriving stock (Show, Eq)

-- | A refund the route node found in a ticket.
data RefundRequest = RefundRequest
  { orderId :: Text
  , amountCents :: Int
  , reason :: Text
  }
  deriving stock (Show, Eq)

-- | A ticket handed to a human, and why.
data Escalation = Escalation
  { ticket :: Ticket
  , why :: Text
  }
  deriving stock (Show, Eq)

-- | Free text handed to summarize by every branch.
newtype Draft = Draft { draftText :: Text }
  deriving stock (Show, Eq)

-- | What the summarize node must return: the reply the customer sees.
data Reply = Reply
  { replyText :: Text
  , closeTicket :: Bool
  }
  deriving stock (Show, Eq)

-- The JSON schemas the LLM nodes must answer with (their Schema annotations in
-- Triage.Graph). Classification nests Category and Ticket, so they get one too; a
-- field type without a schema fails the build here.
deriveJSONSchema ''Category
deriveJSONSchema ''Ticket
deriveJSONSchema ''Classification
deriveJSONSchema ''FaqAnswer
deriveJSONSchema ''Reply

-- | Where the route node may send a ticket. Shared by 'Triage.Graph' and the
-- handler's GotoChoice so the two cannot drift apart.
type RouteEffects =
  '[ Goto "answerFaq" FaqQuery
   , Goto "refund" RefundRequest
   , Goto "escalate" Escalation
   ]
