{-# LANGUAGE OverloadedStrings #-}

-- | Render a parsed template against a 'GVal' dictionary, as Jinja would.
--
-- 'ExoMonad.Template.Check' has already proved every variable exists, so what is
-- missing here (an index out of range, an attribute of a non-record) renders as
-- nothing, as Ginger's undefined does.
module ExoMonad.Template.Render
  ( render
  ) where

import Data.Char (toUpper)
import Data.List (sortOn)
import Data.Maybe (fromMaybe, isJust)
import Data.Text (Text)
import qualified Data.Text as T

import ExoMonad.Template.Syntax
import ExoMonad.Template.Value (GVal(..))

type Scope = [(Text, GVal)]

render :: Scope -> [Node] -> Text
render scope = T.concat . go scope
  where
    go _ [] = []
    go s (Set name e : rest) = go ((name, eval s e) : s) rest
    go s (n : rest) = one s n : go s rest
    one _ (Literal t) = t
    one s (Output e) = display (eval s e)
    one s (If branches elseBranch) =
      case [body | (cond, body) <- branches, truthy (eval s cond)] of
        body : _ -> render s body
        [] -> render s elseBranch
    one s (For name source body) =
      let items = listOf (eval s source)
          count = length items
          loop i = GDict [ ("index", GInt (toInteger i)), ("index0", GInt (toInteger i - 1))
                         , ("first", GBool (i == 1)), ("last", GBool (i == count))
                         , ("length", GInt (toInteger count)) ]
      in T.concat [ render ((name, x) : ("loop", loop i) : s) body
                  | (i, x) <- zip [1 :: Int ..] items ]
    one _ (Set _ _) = ""

eval :: Scope -> Expr -> GVal
eval s expr = case expr of
  Var _ name -> fromMaybe GNone (lookup name s)
  Attr e name -> case eval s e of
    GDict fields -> fromMaybe GNone (lookup name fields)
    _ -> GNone
  Index e i -> index (eval s e) (eval s i)
  Slice e start stop -> slice (eval s e) (eval s <$> start) (eval s <$> stop)
  Str t -> GText t
  Int i -> GInt i
  Bool b -> GBool b
  None -> GNone
  Filter _ e name args kwargs -> applyFilter name (eval s e) (map (eval s) args)
                                           [(k, eval s v) | (k, v) <- kwargs]
  Not e -> GBool (not (truthy (eval s e)))
  Is e "none" -> GBool (eval s e == GNone)
  Is e "undefined" -> GBool (not (defined e))
  Is e _ -> GBool (defined e)
  Binary And a b -> GBool (truthy (eval s a) && truthy (eval s b))
  Binary Or a b -> GBool (truthy (eval s a) || truthy (eval s b))
  Binary Concat a b -> GText (display (eval s a) <> display (eval s b))
  Binary In a b -> GBool (contains (eval s b) (eval s a))
  Binary op a b -> GBool (compareWith op (eval s a) (eval s b))
  where
    defined (Var _ name) = isJust (lookup name s)
    defined (Attr e name) = case eval s e of
      GDict fields -> isJust (lookup name fields)
      _ -> False
    defined _ = True

index :: GVal -> GVal -> GVal
index (GDict fields) (GText key) = fromMaybe GNone (lookup key fields)
index v (GInt i) = case drop (fromInteger (if i < 0 then toInteger (length xs) + i else i)) xs of
  x : _ | i >= negate (toInteger (length xs)) -> x
  _ -> GNone
  where xs = listOf v
index _ _ = GNone

-- | Python's @xs[start:stop]@ for lists and text.
slice :: GVal -> Maybe GVal -> Maybe GVal -> GVal
slice v start stop = case v of
  GText _ -> GText (T.concat [t | GText t <- cut (listOf v)])
  _ -> GList (cut (listOf v))
  where
    cut xs =
      let n = length xs
          bound d b = case b of
            Just (GInt i) -> max 0 (min n (fromInteger (if i < 0 then toInteger n + i else i)))
            _ -> d
          from = bound 0 start
      in take (bound n stop - from) (drop from xs)

contains :: GVal -> GVal -> Bool
contains haystack needle = case (haystack, needle) of
  (GText t, GText n) -> n `T.isInfixOf` t
  (GDict fields, GText key) -> isJust (lookup key fields)
  (GList xs, _) -> needle `elem` xs
  _ -> False

compareWith :: Op -> GVal -> GVal -> Bool
compareWith Eq a b = a == b
compareWith Ne a b = a /= b
compareWith op a b = case (a, b) of
  (GInt x, GInt y) -> ordered (compare x y)
  (GText x, GText y) -> ordered (compare x y)
  _ -> False
  where
    ordered o = case op of
      Lt -> o == LT
      Le -> o /= GT
      Gt -> o == GT
      _ -> o /= LT

applyFilter :: Text -> GVal -> [GVal] -> [(Text, GVal)] -> GVal
applyFilter name v args kwargs = case name of
  "upper" -> text T.toUpper
  "lower" -> text T.toLower
  "title" -> text (T.unwords . map capitalize . T.words)
  "capitalize" -> text (capitalize . T.toLower)
  "trim" -> text T.strip
  "length" -> GInt (toInteger (size v))
  "count" -> GInt (toInteger (size v))
  "wordcount" -> GInt (toInteger (length (T.words (display v))))
  "first" -> case listOf v of x : _ -> x; [] -> GNone
  "last" -> case listOf v of [] -> GNone; xs -> last xs
  "join" ->
    let items = case arg 1 "attribute" of
          Just (GText key) -> [index x (GText key) | x <- listOf v]
          _ -> listOf v
    in GText (T.intercalate (maybe "" display (arg 0 "d")) (map display items))
  "default" -> fallback
  "d" -> fallback
  "replace" -> case (arg 0 "old", arg 1 "new") of
    (Just old, Just new) | not (T.null (display old)) ->
      text (T.replace (display old) (display new))
    _ -> v
  "reverse" -> case v of
    GText t -> GText (T.reverse t)
    _ -> GList (reverse (listOf v))
  "sort" -> GList (sortOn sortKey (listOf v))
  "list" -> GList (listOf v)
  "string" -> GText (display v)
  "e" -> text escape
  "escape" -> text escape
  "truncate" -> text truncate'
  _ -> v  -- "safe"; unknown names were rejected by the parser
  where
    text f = GText (f (display v))
    arg :: Int -> Text -> Maybe GVal
    arg i key = case lookup key kwargs of
      Just x -> Just x
      Nothing -> case drop i args of x : _ -> Just x; [] -> Nothing
    fallback
      | v == GNone || (truthy <$> arg 1 "boolean") == Just True && not (truthy v) =
          fromMaybe (GText "") (arg 0 "default_value")
      | otherwise = v
    capitalize w = case T.uncons w of
      Just (c, rest) -> T.cons (toUpper c) rest
      Nothing -> w
    sortKey x = case x of GInt i -> Left i; _ -> Right (display x)
    escape = T.concatMap (\c -> case c of
      '&' -> "&amp;"; '<' -> "&lt;"; '>' -> "&gt;"; '"' -> "&#34;"; '\'' -> "&#39;"
      _ -> T.singleton c)
    -- Jinja's truncate(length=255, killwords=False, end='...', leeway=5)
    truncate' t =
      let len = maybe 255 fromIntegral (intArg 0 "length")
          end = maybe "..." display (arg 2 "end")
          leeway = maybe 5 fromIntegral (intArg 3 "leeway")
          kept = T.take (len - T.length end) t
          cut = if maybe False truthy (arg 1 "killwords") then kept
                else case T.breakOnEnd " " kept of
                  ("", _) -> kept
                  (before, _) -> T.dropEnd 1 before
      in if T.length t <= len + leeway then t else cut <> end
    intArg i k = case arg i k of Just (GInt n) -> Just n; _ -> Nothing

size :: GVal -> Int
size v = case v of
  GText t -> T.length t
  GDict fields -> length fields
  _ -> length (listOf v)

listOf :: GVal -> [GVal]
listOf v = case v of
  GList xs -> xs
  GDict fields -> [GText k | (k, _) <- fields]
  GText t -> [GText (T.singleton c) | c <- T.unpack t]
  _ -> []

truthy :: GVal -> Bool
truthy v = case v of
  GText t -> not (T.null t)
  GInt i -> i /= 0
  GBool b -> b
  GList xs -> not (null xs)
  GDict xs -> not (null xs)
  GNone -> False

display :: GVal -> Text
display v = case v of
  GText t -> t
  GInt i -> T.pack (show i)
  GBool b -> if b then "True" else "False"
  GList xs -> "[" <> T.intercalate ", " (map display xs) <> "]"
  GDict xs -> "{" <> T.intercalate ", " [k <> ": " <> display x | (k, x) <- xs] <> "}"
  GNone -> ""
