{-# LANGUAGE FlexibleInstances #-}
{-# LANGUAGE MultiParamTypeClasses #-}
{-# LANGUAGE OverloadedStrings #-}

-- | Template contexts: one record per prompt template.
--
-- These live apart from "Triage.Templates" because the Template Haskell splice
-- that type-checks a template needs its context type from an earlier module.
module Triage.Context
  ( ClassifyContext(..)
  , FaqContext(..)
  , KbDocument(..)
  , EscalateContext(..)
  , SummarizeContext(..)
  ) where

import Data.Text (Text)
import Text.Ginger.GVal (ToGVal(..), dict, (~>))
import Text.Ginger.Run (Run)
import Text.Parsec.Pos (SourcePos)
import Control.Monad.Writer (Writer)

data ClassifyContext = ClassifyContext
  { ccSubject :: Text
  , ccBody :: Text
  , ccCategories :: [Text]
  }

instance ToGVal (Run SourcePos (Writer Text) Text) ClassifyContext where
  toGVal ctx = dict
    [ "subject" ~> ctx.ccSubject
    , "body" ~> ctx.ccBody
    , "categories" ~> ctx.ccCategories
    ]

-- | One article of the help-centre knowledge base.
data KbDocument = KbDocument
  { kbTitle :: Text
  , kbBody :: Text
  }

instance ToGVal (Run SourcePos (Writer Text) Text) KbDocument where
  toGVal doc = dict
    [ "title" ~> doc.kbTitle
    , "body" ~> doc.kbBody
    ]

data FaqContext = FaqContext
  { fcQuestion :: Text
  , fcCustomerTier :: Text
  , fcKbDocuments :: [KbDocument]  -- ^ the whole knowledge base, every call
  }

instance ToGVal (Run SourcePos (Writer Text) Text) FaqContext where
  toGVal ctx = dict
    [ "question" ~> ctx.fcQuestion
    , "customer_tier" ~> ctx.fcCustomerTier
    , "kb_documents" ~> ctx.fcKbDocuments
    ]

data EscalateContext = EscalateContext
  { ecSubject :: Text
  , ecBody :: Text
  , ecReason :: Text
  }

instance ToGVal (Run SourcePos (Writer Text) Text) EscalateContext where
  toGVal ctx = dict
    [ "subject" ~> ctx.ecSubject
    , "body" ~> ctx.ecBody
    , "reason" ~> ctx.ecReason
    ]

data SummarizeContext = SummarizeContext
  { scDraft :: Text
  , scCustomerName :: Text
  }

instance ToGVal (Run SourcePos (Writer Text) Text) SummarizeContext where
  toGVal ctx = dict
    [ "draft" ~> ctx.scDraft
    , "customer_name" ~> ctx.scCustomerName
    ]
