"""Where a session panel lives: the host (:class:`~tapescan.store.SessionPanel`) or the GPU
(:class:`~tapescan.gpu.panels.DevicePanel`), and moving it to where the resolved backend runs
(tapescan.analytics.drivers).

Analytics functions accept either kind. A host panel given to the GPU path is copied to the device once; a
device panel given to the CPU path is copied back. Resident device panels (tapescan.analytics.window) are
how a sweep avoids both copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from tapescan.store.reader import SessionPanel

if TYPE_CHECKING:
    from tapescan.gpu.panels import DevicePanel

AnyPanel = Union[SessionPanel, "DevicePanel"]


def on_host(panel: AnyPanel) -> SessionPanel:
    """The panel as host arrays [symbol x minute]."""
    return panel if isinstance(panel, SessionPanel) else panel.to_host()


def on_device(panel: AnyPanel) -> DevicePanel:
    """The panel as device arrays [minute x symbol] (copied once when it is on the host)."""
    from tapescan.gpu.panels import DevicePanel

    return DevicePanel.from_host(panel) if isinstance(panel, SessionPanel) else panel
