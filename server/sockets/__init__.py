"""The WebSocket side: one connection base, the engine slots, the worker thread, /ws/trace and /ws/train."""
