{-# LANGUAGE TemplateHaskell #-}
module Shop.Templates (PayTpl, RateTpl) where

import ExoMonad.Graph.Template (TemplateDef(..), TypedTemplate, typedTemplateFile)
import Shop.Context (PayContext, RateContext, ReceiptContext)

payCompiled :: TypedTemplate PayContext SourcePos
payCompiled = $(typedTemplateFile ''PayContext "templates/pay.jinja")

data PayTpl

instance TemplateDef PayTpl where
  type TemplateContext PayTpl = PayContext
  templateName = "pay"
  templateCompiled = payCompiled

data RateTpl

instance TemplateDef RateTpl where
  type TemplateContext RateTpl = RateContext
  templateName = "rate"
  templateCompiled = $(typedTemplateFile ''RateContext "./templates/rate.jinja")

-- Rendered directly by a handler, no TemplateDef instance.
receiptCompiled :: TypedTemplate ReceiptContext SourcePos
receiptCompiled = $(typedTemplateFile ''ReceiptContext "templates/receipt.jinja")
