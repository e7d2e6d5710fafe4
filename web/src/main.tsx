import { render } from 'preact';
import { App } from './components/App';
import { pickLang, setLang } from './i18n';
import { Meeting } from './meeting';
import { parseLocation } from './options';
import './styles.css';

const opts = parseLocation(window.location);
setLang(pickLang(opts.lang, navigator.language));
const meeting = new Meeting(opts);
const root = document.getElementById('app');
if (root) render(<App meeting={meeting} />, root);
void meeting.start();
