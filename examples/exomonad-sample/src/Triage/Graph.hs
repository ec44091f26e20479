{-# LANGUAGE DataKinds #-}
{-# LANGUAGE TemplateHaskell #-}
{-# LANGUAGE TypeOperators #-}

-- | The support-ticket triage graph.
--
-- A ticket is classified by an LLM, routed by plain logic to one of three
-- branches (FAQ answer, refund, human escalation), and every branch ends in
-- the summarize node, which drafts the reply the customer sees.
module Triage.Graph
  ( TriageGraph(..)
  ) where

import ExoMonad.Graph.Generic (GraphMode(..))
import qualified ExoMonad.Graph.Generic as G
import ExoMonad.Graph.Goto (Goto)
import ExoMonad.Graph.Types (type (:@), Needs, Schema, Template, UsesEffects, Exit)
import ExoMonad.Graph.Validate (validateGraph)

import Triage.Effects (PaymentApi)
import Triage.Templates (ClassifyTpl, EscalateTpl, FaqTpl, SummarizeTpl)
import Triage.Types
  ( Classification, Draft, Escalation, FaqAnswer, FaqQuery
  , RefundRequest, Reply, RouteEffects, Ticket
  )

-- | Nodes are record fields; edges are the 'Goto' effects each node declares.
data TriageGraph mode = TriageGraph
  { entry :: mode :- G.Entry Ticket

    -- | Decide what kind of request the ticket is.
  , classify :: mode :- G.LLMNode
      :@ Needs '[Ticket]
      :@ Template ClassifyTpl
      :@ Schema Classification
      :@ UsesEffects '[Goto "route" Classification]

    -- | Pure routing on the classification; the targets live in
    -- Triage.Types so handlers can share the GotoChoice list.
  , route :: mode :- G.LogicNode
      :@ Needs '[Classification]
      :@ UsesEffects RouteEffects

  , answerFaq :: mode :- G.LLMNode
      :@ Needs '[FaqQuery]
      :@ Template FaqTpl
      :@ Schema FaqAnswer
      :@ UsesEffects '[Goto "summarize" Draft]

    -- | Refunds above the auto-approve limit go to a human.
  , refund :: mode :- G.LogicNode
      :@ Needs '[RefundRequest]
      :@ UsesEffects '[ PaymentApi
                      , Goto "summarize" Draft
                      , Goto "escalate" Escalation
                      ]

  , escalate :: mode :- G.LLMNode
      :@ Needs '[Escalation]
      :@ Template EscalateTpl
      :@ UsesEffects '[Goto "summarize" Draft]

  , summarize :: mode :- G.LLMNode
      :@ Needs '[Draft]
      :@ Template SummarizeTpl
      :@ Schema Reply
      :@ UsesEffects '[Goto Exit Reply]

  , exit :: mode :- G.Exit Reply
  }

-- Fails the build if a Goto names no node of the graph, or carries a payload
-- other than the one its target needs.
validateGraph ''TriageGraph
