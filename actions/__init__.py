"""Side effects: exports, notices, notifications. Actions never decide; they
write or send what the engine has already decided."""
