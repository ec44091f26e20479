{-# LANGUAGE OverloadedStrings #-}

-- | The compile-time check behind 'ExoMonad.Graph.Template.typedTemplateFile':
-- every variable a template reads must be a field of its context record.
--
-- The names a template uses are the record's field names ('deriveToGVal' exposes
-- exactly those), so a renamed field or a typo in a template fails the build.
-- Types follow the expressions where they are known: a loop variable gets the
-- element type of its list, so @doc.title@ inside @{% for doc in kb_documents %}@
-- is checked against the fields of the element record too.
module ExoMonad.Template.Check
  ( checkTemplate
  ) where

import Data.List (intercalate)
import Data.Text (Text)
import qualified Data.Text as T
import Language.Haskell.TH

import ExoMonad.Reify (recordFields)
import ExoMonad.Template.Syntax

-- | Variables in scope, with their Haskell type when known.
type Scope = [(Text, Maybe Type)]

-- | One line per problem; none when the template only reads what @context@ has.
checkTemplate :: FilePath -> Name -> [(String, Type)] -> [Node] -> Q [String]
checkTemplate file context fields = nodes [(T.pack name, Just ty) | (name, ty) <- fields]
  where
    nodes _ [] = pure []
    nodes scope (Set name e : rest) = do
      (problems, ty) <- expr scope e
      (problems <>) <$> nodes ((name, ty) : scope) rest
    nodes scope (n : rest) = (<>) <$> node scope n <*> nodes scope rest

    node _ (Literal _) = pure []
    node scope (Output e) = fst <$> expr scope e
    node scope (Set _ e) = fst <$> expr scope e
    node scope (If branches elseBranch) = do
      found <- mapM (\(cond, body) -> (<>) <$> (fst <$> expr scope cond) <*> nodes scope body)
                    branches
      (concat found <>) <$> nodes scope elseBranch
    node scope (For name source body) = do
      (problems, ty) <- expr scope source
      (problems <>) <$> nodes ((name, ty >>= element) : ("loop", Nothing) : scope) body

    -- Problems in an expression, and its type when known.
    expr :: Scope -> Expr -> Q ([String], Maybe Type)
    expr scope e = case e of
      Var line name -> case lookup name scope of
        Just ty -> pure ([], ty)
        Nothing -> pure ([at line <> "variable '" <> T.unpack name <> "' is not a field of "
                          <> nameBase context <> " (its fields: " <> commas (map fst fields)
                          <> ")"], Nothing)
      Attr inner name -> do
        (problems, ty) <- expr scope inner
        (more, result) <- attribute inner ty name
        pure (problems <> more, result)
      Index inner i -> do
        (problems, ty) <- expr scope inner
        (more, _) <- expr scope i
        pure (problems <> more, ty >>= element)
      Slice inner start stop -> do
        (problems, ty) <- expr scope inner
        more <- mapM (fmap fst . expr scope) (maybe [] pure start <> maybe [] pure stop)
        pure (problems <> concat more, ty)
      Filter line inner name args kwargs -> do
        (problems, ty) <- expr scope inner
        more <- mapM (fmap fst . expr scope) (args <> map snd kwargs)
        let unknown = [ at line <> "unknown filter '" <> T.unpack name <> "' (known: "
                        <> commas (map T.unpack knownFilters) <> ")"
                      | name `notElem` knownFilters ]
            result
              | name `elem` ["first", "last"] = ty >>= element
              | name `elem` ["reverse", "sort", "list", "default", "d"] = ty
              | otherwise = Nothing
        pure (problems <> concat more <> unknown, result)
      Not inner -> untyped [inner]
      Is inner name
        | name `elem` knownTests -> untyped [inner]
        | otherwise -> do
            (problems, _) <- untyped [inner]
            pure (problems <> [at (lineOf inner) <> "unknown test '" <> T.unpack name
                               <> "' (known: " <> commas (map T.unpack knownTests) <> ")"], Nothing)
      Binary _ a b -> untyped [a, b]
      _ -> pure ([], Nothing)
      where
        untyped parts = (\found -> (concatMap fst found, Nothing)) <$> mapM (expr scope) parts

    -- @e.name@ where @e@ is a record: @name@ must be one of its fields.
    attribute inner (Just (ConT record)) name = do
      found <- recordFields record
      pure $ case found of
        Nothing -> ([], Nothing)
        Just (_, recordFieldList) -> case lookup (T.unpack name) recordFieldList of
          Just ty -> ([], Just ty)
          Nothing ->
            ([at (lineOf inner) <> "'" <> describe inner <> "." <> T.unpack name <> "': "
              <> nameBase record <> " has no field '" <> T.unpack name <> "' (its fields: "
              <> commas (map fst recordFieldList) <> "; template context " <> nameBase context
              <> ")"], Nothing)
    attribute _ _ _ = pure ([], Nothing)

    at line = file <> (if line > 0 then ":" <> show line else "") <> ": "
    commas = intercalate ", "

element :: Type -> Maybe Type
element (AppT ListT item) = Just item
element _ = Nothing

-- | The variable path an attribute is read from, for messages: @doc.author[0]@.
describe :: Expr -> String
describe e = case e of
  Var _ name -> T.unpack name
  Attr inner name -> describe inner <> "." <> T.unpack name
  Index inner _ -> describe inner <> "[...]"
  Slice inner _ _ -> describe inner <> "[...]"
  Filter _ inner name _ _ -> describe inner <> "|" <> T.unpack name
  _ -> "(...)"

lineOf :: Expr -> Int
lineOf e = case e of
  Var line _ -> line
  Attr inner _ -> lineOf inner
  Index inner _ -> lineOf inner
  Slice inner _ _ -> lineOf inner
  Filter line _ _ _ _ -> line
  _ -> 0
