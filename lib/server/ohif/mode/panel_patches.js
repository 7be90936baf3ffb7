/* panel_patches.js: every patch of the bundled MONAI Label panel and of browser globals, in one place, for one OHIF
 * build (3.10.0-beta.5, as monailabel 0.8.5 ships it; lib/server/ohif_config.py serves this mode to no other build).
 * The panel is compiled into OHIF's bundle and offers no hook for these, so each works from outside it:
 *
 *  - XMLHttpRequest.prototype.open, for the whole page: the panel's Next Sample request is sent to the strategy its
 *    select shows (the select has no change handler: the panel always asks for /activelearning/random);
 *  - the same patch, on /info/ answers only: the overlay model is left out of the panel's model list (the panel would
 *    write its result into the labelmap the annotator corrects, wiping it);
 *  - a MutationObserver on the document: the strategy select starts at APP.defaultStrategy, not 'random'.
 *
 * Nothing else in the mode touches a global but window.config.modes (mode.js).
 */
/* The bundled panel always asks for /activelearning/random (its strategy select has no change handler): point
 * the request at the strategy the select shows, and show APP.defaultStrategy first. Its /info/ answer loses the
 * overlay model, which the Uncertainty button runs instead. */
function strategySelect() {
  for (const select of document.querySelectorAll('select.actionInput')) {
    if (select.querySelector('option[value="' + APP.defaultStrategy + '"]')) {
      return select;
    }
  }
  return null;
}

function withoutOverlayModel(xhr, name) {
  const original = Object.getOwnPropertyDescriptor(XMLHttpRequest.prototype, name).get;
  Object.defineProperty(xhr, name, {
    configurable: true,
    get() {
      const value = original.call(xhr);
      if (xhr.readyState !== 4 || xhr.status !== 200 || !value) {
        return value;
      }
      try {
        const info = typeof value === 'string' ? JSON.parse(value) : value;
        if (info.models) {
          delete info.models[APP.overlay.model];
        }
        return typeof value === 'string' ? JSON.stringify(info) : info;
      } catch (error) {
        return value;
      }
    },
  });
}

function steerThePanel() {
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    const args = Array.prototype.slice.call(arguments);
    const select = strategySelect();
    if (typeof url === 'string' && select && /\/activelearning\/random(\?|$)/.test(url)) {
      args[1] = url.replace('/activelearning/random', '/activelearning/' + encodeURIComponent(select.value));
    }
    if (typeof url === 'string' && /\/info\/?(\?|$)/.test(url)) {
      withoutOverlayModel(this, 'responseText');
      withoutOverlayModel(this, 'response');
    }
    return open.apply(this, args);
  };
  new MutationObserver(() => {
    const select = strategySelect();
    if (select && !select.dataset.appDefault) {
      select.dataset.appDefault = 'set';
      select.value = APP.defaultStrategy;
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
}
