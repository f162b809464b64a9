'use strict';
// The quick-exit link works without this script. With it, the neutral site replaces this page in the tab's
// history, so Back does not return here. Earlier entries stay in the history: the page says so next to the button.
document.getElementById('quick-exit').addEventListener('click', (event) => {
  event.preventDefault();
  window.location.replace(event.currentTarget.href);
});
