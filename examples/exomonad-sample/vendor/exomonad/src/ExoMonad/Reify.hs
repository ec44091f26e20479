-- | Reading declarations back at compile time, shared by the Template Haskell checks.
module ExoMonad.Reify
  ( recordFields
  , shortType
  ) where

import Language.Haskell.TH

-- | The constructor and @(field, type)@ list of a one-constructor record; 'Nothing'
-- for anything else. Field names are unmangled (DuplicateRecordFields reifies
-- @$sel:field:Con@).
recordFields :: Name -> Q (Maybe (Name, [(String, Type)]))
recordFields name = do
  info <- reify name
  pure $ case info of
    TyConI (DataD _ _ _ _ [RecC con fields] _) -> Just (con, map field fields)
    TyConI (NewtypeD _ _ _ _ (RecC con fields) _) -> Just (con, map field fields)
    _ -> Nothing
  where
    field (fieldName, _, fieldType) = (unmangle (nameBase fieldName), fieldType)
    unmangle base = case span (/= ':') base of
      ("$sel", ':' : rest) -> takeWhile (/= ':') rest
      _ -> base

-- | A type as people write it: unqualified names, for error messages.
shortType :: Type -> String
shortType = pprint . strip
  where
    strip ty = case ty of
      ConT name -> ConT (mkName (nameBase name))
      AppT a b -> AppT (strip a) (strip b)
      SigT t _ -> strip t
      other -> other
