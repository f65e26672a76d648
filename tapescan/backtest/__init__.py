"""The backtest layer: strategy files, the simulator's host side, results, statistics and reports
(docs/BACKTEST.md). The bar-by-bar logic lives in tapescan/kernels (portfolio.py, lane.py, strategies.py)."""
