// Under LANG=C (systemd units, CI, minimal sessions) WebKitGTK reports the POSIX locale "C" as
// navigator.language. Intl rejects that tag, and uPlot builds a number formatter from it as soon
// as it loads, so the whole UI would fail to mount. Fall back to en-US before anything loads.
function isValidTag(tag: string): boolean {
  try {
    return Intl.NumberFormat.supportedLocalesOf([tag]).length > 0;
  } catch {
    return false;
  }
}

if (typeof navigator !== 'undefined' && !isValidTag(navigator.language)) {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
  Object.defineProperty(navigator, 'languages', { value: ['en-US'], configurable: true });
}
