{-# LANGUAGE ExplicitNamespaces #-}
{-# LANGUAGE TemplateHaskell #-}

-- | @validateGraph ''G@: the graph check the real ExoMonad makes at compile time.
--
-- Every @Goto "target" Payload@ a node declares, directly or through a type
-- synonym such as @type RouteEffects = '[...]@, must name a node (a field) of the
-- graph record, and carry the payload that node needs; @Goto Exit Payload@ must
-- carry what the graph's 'ExoMonad.Graph.Generic.Exit' node returns. Handlers
-- alone would not catch an edge to a node that does not exist.
module ExoMonad.Graph.Validate
  ( validateGraph
  ) where

import Data.List (intercalate)
import Language.Haskell.TH

import ExoMonad.Graph.Generic (type (:-))
import qualified ExoMonad.Graph.Generic as G
import ExoMonad.Graph.Goto (Goto)
import ExoMonad.Graph.Types (type (:@), Needs, UsesEffects)
import qualified ExoMonad.Graph.Types as T
import ExoMonad.Reify (recordFields, shortType)

-- | A node: its field name and its annotations, node kind first.
type NodeDecl = (String, [Type])

validateGraph :: Name -> Q [Dec]
validateGraph graph = do
  found <- recordFields graph
  fields <- maybe (fail (nameBase graph <> ": validateGraph needs a graph record")) (pure . snd)
                  found
  let nodes = [(name, annotations def) | (name, ty) <- fields, Just def <- [declaration ty]]
  problems <- concat <$> mapM (nodeProblems (nameBase graph) nodes) nodes
  if null problems then pure [] else fail (unlines problems)

-- | @mode :- decl@ -> @decl@.
declaration :: Type -> Maybe Type
declaration ty = case ty of
  AppT (AppT (ConT op) _) decl | op == ''(:-) -> Just decl
  InfixT _ op decl | op == ''(:-) -> Just decl
  _ -> Nothing

-- | @Kind :\@ A :\@ B@ -> @[Kind, A, B]@.
annotations :: Type -> [Type]
annotations ty = case unkind ty of
  AppT (AppT (ConT op) node) annotation | op == ''(:@) -> annotations node <> [annotation]
  InfixT node op annotation | op == ''(:@) -> annotations node <> [annotation]
  other -> [other]

-- | Drop kind signatures and applications GHC may add to poly-kinded types.
unkind :: Type -> Type
unkind ty = case ty of
  SigT t _ -> unkind t
  AppKindT t _ -> unkind t
  ParensT t -> unkind t
  AppT a b -> AppT (unkind a) (unkind b)
  other -> other

-- | The payload a node is entered with; for the exit node, what it returns.
input :: [Type] -> Maybe Type
input decl = case decl of
  AppT (ConT kind) payload : _ | kind `elem` [''G.Entry, ''G.Exit] -> Just payload
  _ -> case [unkind list | AppT (ConT ann) list <- decl, ann == ''Needs] of
    AppT (AppT PromotedConsT payload) PromotedNilT : _ -> Just payload
    _ -> Nothing

isExit :: [Type] -> Bool
isExit decl = case decl of
  AppT (ConT kind) _ : _ -> kind == ''G.Exit
  _ -> False

nodeProblems :: String -> [NodeDecl] -> NodeDecl -> Q [String]
nodeProblems graph nodes (source, decl) = do
  effects <- concat <$> mapM (effectList (0 :: Int))
                             [list | AppT (ConT a) list <- decl, a == ''UsesEffects]
  pure (concatMap check effects)
  where
    check effect = case unkind effect of
      AppT (AppT (ConT goto) target) payload | goto == ''Goto -> edge target payload
      _ -> []
    edge target payload =
      let written = "Goto " <> shortType target <> " " <> shortType payload
          wrong why = [graph <> "." <> source <> ": " <> written <> ": " <> why]
          expect name node = case input node of
            Just needed | unkind needed /= unkind payload ->
              wrong (name <> " needs " <> shortType needed <> ", not " <> shortType payload)
            _ -> []
      in case target of
        LitT (StrTyLit name) -> case lookup name nodes of
          Nothing -> wrong (graph <> " has no node \"" <> name <> "\" (its nodes: "
                            <> intercalate ", " (map fst nodes) <> ")")
          Just node -> expect name node
        ConT exit | exit == ''T.Exit -> case filter (isExit . snd) nodes of
          (name, node) : _ -> expect name node
          [] -> wrong (graph <> " has no Exit node")
        _ -> wrong "the target must be a node name in quotes or Exit"
    -- Flatten a promoted list, expanding type synonyms (a bounded number of times).
    effectList depth ty = case unkind ty of
      PromotedNilT -> pure []
      AppT (AppT PromotedConsT x) rest -> (x :) <$> effectList depth rest
      ConT name | depth < 16 -> do
        info <- reify name
        case info of
          TyConI (TySynD _ [] rhs) -> effectList (depth + 1) rhs
          _ -> pure []
      _ -> pure []
