"""One short script per paper table: `qtrain run`/`sweep`, the recipe's report (`qtrain report`), README refill."""
