"""MQTT: a camera's state to a broker and commands from it, and its Home Assistant device."""
