{-# LANGUAGE AllowAmbiguousTypes #-}
{-# LANGUAGE ConstraintKinds #-}
{-# LANGUAGE DataKinds #-}
{-# LANGUAGE KindSignatures #-}
{-# LANGUAGE ScopedTypeVariables #-}
{-# LANGUAGE TemplateHaskell #-}
{-# LANGUAGE TypeFamilies #-}

-- | Prompt templates typed by their context record.
--
-- @$(typedTemplateFile ''Ctx "templates/x.jinja")@ reads the file at compile time,
-- parses it and fails the build when it reads a variable @Ctx@ has no field for.
module ExoMonad.Graph.Template
  ( TemplateDef(..)
  , TypedTemplate
  , templateFile
  , typedTemplateFile
  , renderTemplate
  ) where

import Control.Exception (IOException, try)
import qualified Data.ByteString as BS
import Data.Kind (Constraint, Type)
import Data.Text (Text)
import Data.Text.Encoding (decodeUtf8')
import Language.Haskell.TH (Exp, Name, Q, conT, nameBase, runIO)
import Language.Haskell.TH.Syntax (addDependentFile, lift)

import ExoMonad.Effect (Eff, Effect)
import ExoMonad.Reify (recordFields)
import ExoMonad.Template.Check (checkTemplate)
import ExoMonad.Template.Render (render)
import ExoMonad.Template.Syntax (Node, parseTemplate)
import ExoMonad.Template.Value (GVal(..), ToGVal(..))

-- | A parsed template whose variables are fields of @context@.
data TypedTemplate context = TypedTemplate
  { templateFile :: FilePath
  , templateBody :: [Node]
  }

-- | A template as a type, so a graph node can name it: @Template FaqTpl@.
class TemplateDef (t :: Type) where
  type TemplateContext t :: Type
  type TemplateConstraint t (es :: [Effect]) :: Constraint
  templateName :: Text
  templateDescription :: Text
  templateCompiled :: TypedTemplate (TemplateContext t)
  buildContext :: TemplateConstraint t es => Eff es (TemplateContext t)

-- | Read, parse and check a template against the record @context@; the path is
-- relative to the package directory, where cabal runs GHC.
typedTemplateFile :: Name -> FilePath -> Q Exp
typedTemplateFile context path = do
  addDependentFile path
  bytes <- runIO (try (BS.readFile path))
  source <- case bytes of
    Left err -> fail (path <> ": cannot read template: " <> show (err :: IOException))
    Right raw -> either (\_ -> fail (path <> ": template is not valid UTF-8")) pure
                        (decodeUtf8' raw)
  body <- either fail pure (parseTemplate path source)
  found <- recordFields context
  fields <- case found of
    Just (_, fields) -> pure fields
    Nothing -> fail (path <> ": context " <> nameBase context <> " must be a record")
  problems <- checkTemplate path context fields body
  if null problems
    then [| TypedTemplate path $(lift body) :: TypedTemplate $(conT context) |]
    else fail (unlines problems)

renderTemplate :: ToGVal context => TypedTemplate context -> context -> Text
renderTemplate template context = render scope (templateBody template)
  where
    scope = case toGVal context of
      GDict fields -> fields
      _ -> []
