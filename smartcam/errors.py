"""The one exception base and its named kinds, each with the exit status it maps to."""

import os


class SmartcamError(Exception):
    """Base of every error smartcam raises on purpose."""

    exit_status = 1


class ConfigError(SmartcamError):
    """smartcam.conf (or a value given in its place) is wrong; systemd must not restart-loop."""

    exit_status = os.EX_CONFIG  # 78: units carry RestartPreventExitStatus=78


class CameraStall(SmartcamError):
    """No frame arrived in time: exit so that systemd restarts the camera process."""

    exit_status = os.EX_TEMPFAIL  # 75


class SourceError(SmartcamError):
    """A camera source cannot be opened or read (missing file, undecodable video)."""

    exit_status = os.EX_NOINPUT  # 66


class ControlError(SmartcamError):
    """A control-socket message is malformed or asks for something impossible."""


class CameraUnavailable(SmartcamError):
    """The camera process is not answering on its control socket (starting or restarting)."""

    exit_status = os.EX_UNAVAILABLE  # 69


class SettingError(ConfigError):
    """A valid setting this machine cannot do, found only at run time (e.g. by the encoder).

    Raised with the setting's section and key; the camera process locates it in smartcam.conf
    (config.parse.setting_problem) so the user sees file, line and value like any config error.
    """

    def __init__(self, section: str, key: str, message: str) -> None:
        self.section, self.key, self.message = section, key, message
        super().__init__(f"[{section}] {key}: {message}")
