{-# LANGUAGE FlexibleInstances #-}
{-# LANGUAGE TemplateHaskell #-}

-- | The values a template sees, and 'deriveToGVal', which exposes a record to
-- templates under its field names: the same names 'ExoMonad.Template.Check' checks.
module ExoMonad.Template.Value
  ( GVal(..)
  , ToGVal(..)
  , deriveToGVal
  ) where

import Data.Text (Text)
import qualified Data.Text as T
import Language.Haskell.TH

import ExoMonad.Reify (recordFields)

data GVal
  = GText Text
  | GInt Integer
  | GBool Bool
  | GList [GVal]
  | GDict [(Text, GVal)]
  | GNone
  deriving (Show, Eq)

class ToGVal a where
  toGVal :: a -> GVal

instance ToGVal GVal where toGVal = id
instance ToGVal Text where toGVal = GText
instance ToGVal Bool where toGVal = GBool
instance ToGVal Int where toGVal = GInt . toInteger
instance ToGVal Integer where toGVal = GInt
instance ToGVal Double where toGVal = GText . T.pack . show
instance ToGVal a => ToGVal [a] where toGVal = GList . map toGVal
instance ToGVal a => ToGVal (Maybe a) where toGVal = maybe GNone toGVal

-- | @instance ToGVal T@: a dictionary from field names to field values.
deriveToGVal :: Name -> Q [Dec]
deriveToGVal name = do
  found <- recordFields name
  (con, fields) <- maybe (fail (nameBase name <> ": deriveToGVal needs a record type")) pure found
  vars <- mapM (const (newName "field")) fields
  let entry (fieldName, _) var = [| (T.pack fieldName, toGVal $(varE var)) |]
      body = [| GDict $(listE (zipWith entry fields vars)) |]
  pure <$> instanceD (pure []) [t| ToGVal $(conT name) |]
    [funD 'toGVal [clause [conP con (map varP vars)] (normalB body) []]]
