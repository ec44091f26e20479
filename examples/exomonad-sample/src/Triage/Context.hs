{-# LANGUAGE DuplicateRecordFields #-}
{-# LANGUAGE TemplateHaskell #-}

-- | Template contexts: one record per prompt template.
--
-- A template's variables ARE its context's field names: @{{ customer_tier }}@ in
-- faq.jinja reads the @customer_tier@ field of 'FaqContext'. The Template Haskell
-- splice in "Triage.Templates" checks every variable against these fields, so the
-- records live in an earlier module, and 'deriveToGVal' exposes the same names.
module Triage.Context
  ( ClassifyContext(..)
  , FaqContext(..)
  , KbDocument(..)
  , EscalateContext(..)
  , SummarizeContext(..)
  ) where

import Data.Text (Text)

import ExoMonad.Template.Value (deriveToGVal)

data ClassifyContext = ClassifyContext
  { subject :: Text
  , body :: Text
  , categories :: [Text]
  }

-- | One article of the help-centre knowledge base.
data KbDocument = KbDocument
  { title :: Text
  , body :: Text
  }

data FaqContext = FaqContext
  { question :: Text
  , customer_tier :: Text
  , kb_documents :: [KbDocument]  -- ^ the whole knowledge base, every call
  }

data EscalateContext = EscalateContext
  { subject :: Text
  , body :: Text
  , reason :: Text
  }

data SummarizeContext = SummarizeContext
  { draft :: Text
  , customer_name :: Text
  }

-- KbDocument first: FaqContext's instance uses it.
deriveToGVal ''ClassifyContext
deriveToGVal ''KbDocument
deriveToGVal ''FaqContext
deriveToGVal ''EscalateContext
deriveToGVal ''SummarizeContext
