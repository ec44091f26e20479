"""LogQL for the simulator: tokenizer, syntax tree and parser (a documented subset)."""

from .parser import parse, parse_log_query
from .syntax import Expr, LogQuery, MetricExpr

__all__ = ["Expr", "LogQuery", "MetricExpr", "parse", "parse_log_query"]
