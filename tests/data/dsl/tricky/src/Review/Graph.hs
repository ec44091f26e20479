{-# LANGUAGE DataKinds #-}
{- A header block comment {- with a nested one -}
   data Hidden mode = Hidden { ghost :: mode :- G.Entry Int }
-}
module Review.Graph (ReviewGraph(..)) where

import ExoMonad.Graph.Generic
import ExoMonad.Graph.Types

banner :: String
banner = "-- not a comment {- nor this -}"

data ReviewGraph mode = ReviewGraph
  { --------------------------------------------------------------------
    -- ENTRY
    --------------------------------------------------------------------
    start :: mode :- Entry (Maybe PullRequest)
  , fetch, refetch
      :: mode :- LogicNode
      :@ Needs '[Maybe PullRequest]   -- two fields, one type
      :@ UsesEffects '[ GitHub
                      , Goto "critique" (Diff, [Comment])  -- tuple payload
                      , Log
                      ]
  , critique :: mode :- (LLMNode :@ Template {- inline -} CritiqueTpl)
      :@ Schema (Either Rejection Review)
      :@ Vision
      :@ ClaudeCode 'Haiku 'Nothing
      :@ UsesEffects '[Goto "publish" Review, Goto "archive" Rejection]
  , helper :: Int -> Int
  , legacy :: mode :- G.ForkNode :@ UsesEffects '[Goto "publish" Review]
  , publish :: mode :- LogicNode :@ UsesEffects '[Goto Exit Verdict, Goto Self Review]
  , done :: mode :- Exit Verdict
  }
  deriving Generic
