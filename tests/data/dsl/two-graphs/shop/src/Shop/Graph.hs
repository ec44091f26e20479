module Shop.Graph (CheckoutGraph(..)) where

import qualified ExoMonad.Graph.Generic as G
import Shop.Effects (CheckoutEffects)

data CheckoutGraph mode = CheckoutGraph
  { cart :: mode :- G.Entry Cart
  , check :: mode :- G.LogicNode :@ UsesEffects CheckoutEffects
  , pay :: mode :- G.LLMNode :@ Template PayTpl :@ UsesEffects '[Goto Exit (Maybe Receipt)]
  , receipt :: mode :- G.Exit (Maybe Receipt)
  }
  deriving Generic
