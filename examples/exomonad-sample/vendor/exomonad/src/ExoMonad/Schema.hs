{-# LANGUAGE ScopedTypeVariables #-}
{-# LANGUAGE OverloadedStrings #-}
{-# LANGUAGE TemplateHaskell #-}

-- | JSON schemas for what an LLM node must answer with (its @Schema@ annotation).
--
-- @deriveJSONSchema ''T@ describes a record as an object (a 'Maybe' field is
-- optional) and an enumeration of constant constructors as a string enum. A field
-- type without a schema is a compile error, as with the real library.
module ExoMonad.Schema
  ( JSONSchema(..)
  , HasJSONSchema(..)
  , deriveJSONSchema
  , renderSchema
  ) where

import Data.Proxy (Proxy(..))
import Data.Text (Text)
import qualified Data.Text as T
import Language.Haskell.TH

import ExoMonad.Reify (recordFields)

data JSONSchema
  = SString
  | SInteger
  | SNumber
  | SBoolean
  | SArray JSONSchema
  | SOptional JSONSchema            -- ^ a field that may be absent or null
  | SEnum [Text]
  | SObject [(Text, JSONSchema)]
  deriving (Show, Eq)

class HasJSONSchema a where
  jsonSchema :: Proxy a -> JSONSchema

instance HasJSONSchema Text where jsonSchema _ = SString
instance HasJSONSchema Int where jsonSchema _ = SInteger
instance HasJSONSchema Integer where jsonSchema _ = SInteger
instance HasJSONSchema Double where jsonSchema _ = SNumber
instance HasJSONSchema Bool where jsonSchema _ = SBoolean
instance HasJSONSchema a => HasJSONSchema [a] where
  jsonSchema _ = SArray (jsonSchema (Proxy :: Proxy a))
instance HasJSONSchema a => HasJSONSchema (Maybe a) where
  jsonSchema _ = SOptional (jsonSchema (Proxy :: Proxy a))

deriveJSONSchema :: Name -> Q [Dec]
deriveJSONSchema name = do
  record <- recordFields name
  info <- reify name
  body <- case (record, info) of
    (Just (_, fields), _) ->
      [| SObject $(listE [ [| (T.pack field, jsonSchema (Proxy :: Proxy $(pure ty))) |]
                          | (field, ty) <- fields ]) |]
    (Nothing, TyConI (DataD _ _ [] _ cons@(_ : _) _))
      | Just names <- mapM constant cons -> [| SEnum (map T.pack names) |]
    _ -> fail (nameBase name <> ": deriveJSONSchema needs a record or an enumeration")
  pure <$> instanceD (pure []) [t| HasJSONSchema $(conT name) |]
    [funD 'jsonSchema [clause [wildP] (normalB (pure body)) []]]
  where
    constant (NormalC con []) = Just (nameBase con)
    constant _ = Nothing

-- | The schema as JSON Schema text, the form a model is given.
renderSchema :: JSONSchema -> Text
renderSchema schema = case schema of
  SString -> kind "string"
  SInteger -> kind "integer"
  SNumber -> kind "number"
  SBoolean -> kind "boolean"
  SArray items -> "{\"type\":\"array\",\"items\":" <> renderSchema items <> "}"
  SOptional inner -> renderSchema inner
  SEnum names -> "{\"type\":\"string\",\"enum\":[" <> commas (map quote names) <> "]}"
  SObject fields ->
    "{\"type\":\"object\",\"properties\":{"
      <> commas [quote f <> ":" <> renderSchema s | (f, s) <- fields]
      <> "},\"required\":[" <> commas [quote f | (f, s) <- fields, not (optional s)] <> "]}"
  where
    kind k = "{\"type\":\"" <> k <> "\"}"
    quote t = "\"" <> t <> "\""
    commas = T.intercalate ","
    optional (SOptional _) = True
    optional _ = False
