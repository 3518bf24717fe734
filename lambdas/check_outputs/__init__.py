"""check_outputs: answers the state machine's pre, post, explain and summarize requests."""
