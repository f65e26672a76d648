"""The stream coordinator: sessions replayed (or streamed live) into `session_data` by two threads, the main
coordinator thread and the data-upkeep thread, under one `SystemManager` per run (docs/REPLAY.md)."""

from tapescan.clock import FakeTime, RealTime
from tapescan.stream.config import STREAM_TYPES, ReplayConfig, ReplayConfigError, load_replay_config
from tapescan.stream.coordinator import StreamCoordinator
from tapescan.stream.messages import Advance
from tapescan.stream.session_data import SessionData
from tapescan.stream.sources import StoreSource, SyntheticStreams
from tapescan.stream.system import SystemManager, SystemState

__all__ = [
    "STREAM_TYPES", "Advance", "FakeTime", "RealTime", "ReplayConfig", "ReplayConfigError", "SessionData",
    "StoreSource", "StreamCoordinator", "SyntheticStreams", "SystemManager", "SystemState", "load_replay_config",
]
