/**
 * The microphone the user picked in the settings (MicPicker.vue), remembered in localStorage and
 * used by the studio's capture (mic.ts). '' = the system default.
 */
const KEY = 'fav.micDeviceId';

export function storedMicDevice(): string {
  try {
    return window.localStorage.getItem(KEY) ?? '';
  } catch {
    return ''; // storage disabled
  }
}

export function storeMicDevice(deviceId: string): void {
  try {
    if (deviceId) window.localStorage.setItem(KEY, deviceId);
    else window.localStorage.removeItem(KEY);
  } catch {
    // Not remembered: the default device is used next time.
  }
}

/**
 * getUserMedia's deviceId constraint for a remembered device: `ideal`, so that a microphone that
 * was unplugged falls back to the default one instead of failing the capture.
 */
export function micDeviceConstraint(deviceId = storedMicDevice()): { deviceId?: ConstrainDOMString } {
  return deviceId ? { deviceId: { ideal: deviceId } } : {};
}
