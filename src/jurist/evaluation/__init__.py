"""Meta-evaluation of judges against labelled data: datasets, agreement metrics, bootstrap CIs."""
