"""Gateway: gathers every department's result into one reply (统一回复) and answers status queries."""
