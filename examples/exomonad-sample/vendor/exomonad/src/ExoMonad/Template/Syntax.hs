{-# LANGUAGE DeriveLift #-}
{-# LANGUAGE OverloadedStrings #-}

-- | The Jinja subset the stand-in understands, and its parser.
--
-- Statements: text, @{{ expr }}@, @{# comment #}@, @{% if %}@ with @elif@/@else@,
-- @{% for x in expr %}@ (with @loop.index@ and friends), @{% set x = expr %}@, and the
-- @-@ whitespace trims. Expressions: variables, @.attr@, @[index]@ and @[start:stop]@,
-- string and integer literals, @true@/@false@/@none@, filters ('knownFilters', with
-- arguments), @not@/@and@/@or@, comparisons, @in@, @is [not] defined/none@ and @~@.
-- Anything else fails the parse with its line and column, so a template that
-- compiles is one 'ExoMonad.Template.Render' renders.
module ExoMonad.Template.Syntax
  ( Node(..)
  , Expr(..)
  , Op(..)
  , knownFilters
  , knownTests
  , parseTemplate
  ) where

import Control.Monad (void, when)
import Data.Functor (($>))
import Data.Text (Text)
import qualified Data.Text as T
import Language.Haskell.TH.Syntax (Lift)
import Text.Parsec
import Text.Parsec.Error (errorMessages, showErrorMessages)
import Text.Parsec.Text (Parser)

data Node
  = Literal Text
  | Output Expr
  | If [(Expr, [Node])] [Node]  -- ^ if/elif branches, else branch
  | For Text Expr [Node]
  | Set Text Expr
  deriving (Show, Lift)

data Expr
  = Var Int Text                          -- ^ line, name
  | Attr Expr Text                        -- ^ @e.name@
  | Index Expr Expr                       -- ^ @e[i]@
  | Slice Expr (Maybe Expr) (Maybe Expr)  -- ^ @e[start:stop]@
  | Str Text
  | Int Integer
  | Bool Bool
  | None
  | Filter Int Expr Text [Expr] [(Text, Expr)]  -- ^ line, value, filter, arguments, keywords
  | Not Expr
  | Is Expr Text                          -- ^ @e is defined@, @e is none@
  | Binary Op Expr Expr
  deriving (Show, Lift)

data Op = And | Or | Eq | Ne | Lt | Le | Gt | Ge | In | Concat
  deriving (Show, Eq, Lift)

knownFilters :: [Text]
knownFilters =
  [ "capitalize", "count", "d", "default", "e", "escape", "first", "join", "last", "length"
  , "list", "lower", "replace", "reverse", "safe", "sort", "string", "title", "trim"
  , "truncate", "upper", "wordcount" ]

knownTests :: [Text]
knownTests = ["defined", "undefined", "none"]

-- | The template, or one line: @file:line:column: what was expected@.
parseTemplate :: FilePath -> Text -> Either String [Node]
parseTemplate file source =
  either (Left . describe) Right (parse (many node <* endOfTemplate) file source)
  where
    describe err =
      let pos = errorPos err
          message = showErrorMessages "or" "unknown parse error" "expecting" "unexpected"
                                      "end of input" (errorMessages err)
      in sourceName pos <> ":" <> show (sourceLine pos) <> ":" <> show (sourceColumn pos) <> ": "
         <> unwords (filter (not . null) (lines message))

endOfTemplate :: Parser ()
endOfTemplate = eof <?> "text, {{ ... }} or a supported {% if/for/set %} tag"

node :: Parser Node
node = literal <|> output <|> comment <|> ifBlock <|> forBlock <|> setTag

-- | Text up to the next tag; trailing whitespace dropped before a @{{-@ or @{%-@.
literal :: Parser Node
literal = do
  chars <- many1 (notFollowedBy tagStart *> anyChar)
  trims <- option False (True <$ lookAhead (try (tagStart *> char '-')))
  let text = T.pack chars
  pure (Literal (if trims then T.stripEnd text else text))
  where
    tagStart = try (char '{' *> oneOf "{%#")

-- | Close a tag; @-}}@ or @-%}@ also eats the whitespace after it.
close :: String -> Parser ()
close end = (try (char '-' *> string end) *> spaces) <|> void (string end)

output :: Parser Node
output = do
  _ <- try (string "{{") *> optional (char '-') *> spaces
  Output <$> expr <* close "}}"

comment :: Parser Node
comment = do
  _ <- try (string "{#")
  _ <- manyTill anyChar (try (optional (char '-') *> string "#}"))
  pure (Literal "")

-- | @{% keyword@, committed to once the keyword matched.
open :: String -> Parser ()
open keyword =
  try (string "{%" *> optional (char '-') *> spaces *> word keyword) <?> ("{% " <> keyword <> " %}")

ifBlock :: Parser Node
ifBlock = do
  open "if"
  first <- branch
  elifs <- many (open "elif" *> branch)
  elseBranch <- option [] (open "else" *> close "%}" *> many node)
  open "endif" *> close "%}"
  pure (If (first : elifs) elseBranch)
  where
    branch = (,) <$> (expr <* close "%}") <*> many node

forBlock :: Parser Node
forBlock = do
  open "for"
  name <- identifier
  word "in"
  source <- expr
  close "%}"
  body <- many node
  open "endfor" *> close "%}"
  pure (For name source body)

setTag :: Parser Node
setTag = do
  open "set"
  name <- identifier
  symbol "="
  Set name <$> expr <* close "%}"

-- Expressions, loosest first -----------------------------------------------------------

expr :: Parser Expr
expr = chainl1 conjunction (word "or" $> Binary Or)
  where
    conjunction = chainl1 negation (word "and" $> Binary And)
    negation = (word "not" *> (Not <$> negation)) <|> comparison

comparison :: Parser Expr
comparison = do
  left <- concatenation
  option left (choice
    [ Binary <$> operator <*> pure left <*> concatenation
    , word "in" *> (Binary In left <$> concatenation)
    , try (word "not" *> word "in") *> (Not . Binary In left <$> concatenation)
    , word "is" *> test left
    ])
  where
    operator = choice
      [ try (symbol op) $> o
      | (op, o) <- [("==", Eq), ("!=", Ne), ("<=", Le), (">=", Ge), ("<", Lt), (">", Gt)] ]
    test left = do
      negated <- option False (word "not" $> True)
      name <- (word "none" $> "none") <|> (word "None" $> "none") <|> identifier
      pure ((if negated then Not else id) (Is left name))

concatenation :: Parser Expr
concatenation = chainl1 filtered (symbol "~" $> Binary Concat)

filtered :: Parser Expr
filtered = do
  base <- postfix
  applied <- many (symbol "|" *> application)
  pure (foldl (\e (line, name, args, kwargs) -> Filter line e name args kwargs) base applied)
  where
    -- Unknown names are reported by the check, with the template's line.
    application = do
      line <- sourceLine <$> getPosition
      name <- identifier
      args <- option [] (between (symbol "(") (symbol ")") (argument `sepBy` symbol ","))
      pure (line, name, [a | Left a <- args], [k | Right k <- args])
    argument = (Right <$> try ((,) <$> identifier <* symbol "=" <*> expr)) <|> (Left <$> expr)

postfix :: Parser Expr
postfix = atom >>= rest
  where
    rest e = ((attribute e <|> subscript e) >>= rest) <|> pure e
    attribute e = Attr e <$> (symbol "." *> identifier)
    subscript e = between (symbol "[") (symbol "]") $ do
      start <- optionMaybe expr
      stop <- optionMaybe (symbol ":" *> optionMaybe expr)
      case (start, stop) of
        (Just i, Nothing) -> pure (Index e i)
        (_, Just end) -> pure (Slice e start end)
        (Nothing, Nothing) -> fail "empty subscript"

atom :: Parser Expr
atom = choice
  [ between (symbol "(") (symbol ")") expr
  , Str . T.pack <$> lexeme (quoted '"' <|> quoted '\'')
  , Int . read <$> lexeme ((<>) <$> option "" (try (string "-" <* lookAhead digit)) <*> many1 digit)
  , (word "true" <|> word "True") $> Bool True
  , (word "false" <|> word "False") $> Bool False
  , (word "none" <|> word "None") $> None
  , Var <$> (sourceLine <$> getPosition) <*> identifier
  ]
  where
    quoted :: Char -> Parser String
    quoted q = char q *> manyTill anyChar (char q)

identifier :: Parser Text
identifier = lexeme (try name) <?> "a name"
  where
    name = do
      text <- (:) <$> (letter <|> char '_') <*> many (alphaNum <|> char '_')
      when (text `elem` reserved) $ unexpected ("keyword " <> text)
      pure (T.pack text)
    reserved = ["and", "or", "not", "in", "is", "if", "else", "elif", "endif", "for", "endfor",
                "set", "true", "false", "none", "True", "False", "None"]

word :: String -> Parser ()
word w = lexeme (try (string w *> notFollowedBy (alphaNum <|> char '_'))) <?> w

symbol :: String -> Parser ()
symbol s = void (lexeme (string s))

lexeme :: Parser a -> Parser a
lexeme p = p <* spaces
