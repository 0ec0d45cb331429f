// `html` tagged templates for Preact components (htm): JSX-like markup without a build-time
// transform, so the files under ui/app run as they are written.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
