module Shop.Effects (CheckoutEffects, PayEffects) where

import ExoMonad.Graph.Goto (Goto)

-- | Where checkout can go once the cart is valid.
type CheckoutEffects = '[Log, PayEffects, State Cart]

type PayEffects =
  '[ Goto "pay" Cart
   , Goto Exit (Maybe Receipt)
   ]
