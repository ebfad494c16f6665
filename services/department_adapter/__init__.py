"""Department adapter: bridges one department's own IT system to its Kafka work topic."""
