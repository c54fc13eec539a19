// A desktop notification, only when the window is not in front (the user is elsewhere).
import { isPermissionGranted, requestPermission, sendNotification } from '@tauri-apps/plugin-notification';

export async function notifyIfUnfocused(title: string, body: string): Promise<boolean> {
  if (typeof document !== 'undefined' && document.hasFocus()) return false;
  try {
    let granted = await isPermissionGranted();
    if (!granted) granted = (await requestPermission()) === 'granted';
    if (!granted) return false;
    sendNotification({ title, body });
    return true;
  } catch {
    return false; // a notification is a courtesy; the result is on screen anyway
  }
}
