module Shop.ReviewGraph (ReviewGraph(..)) where

import qualified ExoMonad.Graph.Generic as G

data ReviewGraph mode = ReviewGraph
  { review :: mode :- G.Entry Receipt
  , rate :: mode :- G.LLMNode
      :@ Template RateTpl
      :@ Schema Rating
      :@ UsesEffects '[Goto "thank" Rating]
  , finish :: mode :- G.Exit Rating
  }
  deriving Generic
