"""Judging: a chat request becomes a completion or a judgment, on one straight line of stages
(``pipeline``): parse → cache → plan → games → decide → trust → respond."""
