{-# LANGUAGE DataKinds #-}
{-# LANGUAGE DeriveAnyClass #-}
{-# LANGUAGE DerivingStrategies #-}
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

import Data.Aeson (FromJSON, ToJSON)
import Data.Text (Text)
import GHC.Generics (Generic)

import ExoMonad.Graph.Goto (Goto)
import ExoMonad.Schema (deriveJSONSchema)

-- | An incoming support ticket.
data Ticket = Ticket
  { ticketId :: Text
  , customerId :: Text
  , subject :: Text
  , body :: Text
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

data Category
  = Question
  | RefundAsk
  | Complaint
  | Other
  deriving stock (Show, Eq, Ord, Enum, Bounded, Generic)
  deriving anyclass (FromJSON, ToJSON)

-- | What the classify node must return.
data Classification = Classification
  { category :: Category
  , confidence :: Double
  , orderId :: Maybe Text  -- ^ only for refund requests
  , ticket :: Ticket
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

data FaqQuery = FaqQuery
  { question :: Text
  , customerTier :: Text
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

data FaqAnswer = FaqAnswer
  { answer :: Text
  , sources :: [Text]
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

data RefundRequest = RefundRequest
  { orderId :: Text
  , amountCents :: Int
  , reason :: Text
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

data Escalation = Escalation
  { ticket :: Ticket
  , why :: Text
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

-- | Free text handed to summarize by every branch.
newtype Draft = Draft { draftText :: Text }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

data Reply = Reply
  { replyText :: Text
  , closeTicket :: Bool
  }
  deriving stock (Show, Eq, Generic)
  deriving anyclass (FromJSON, ToJSON)

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
