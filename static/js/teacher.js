// "Compare with teacher forcing": beside a free-running (generation) run, a second, read-only
// unrolled graph of the same weights reading the true text (unroll = teacher_forced), drawn at
// the end of its run so the two losses and the two rows of inputs can be read side by side.

import { TraceSocket } from './socket.js';
import { EventStore } from './store.js';
import { UnrolledGraph } from './graph.js';
import { fmt } from './format.js';

/** The second graph and its own stream; `show(run)` follows the main run, `hide()` stops it. */
export class TeacherCompare {
  /** card: the card that holds the graph; svg/overview: its <svg>s; title: where the loss is written. */
  constructor({ card, svg, overview, title }) {
    this.card = card;
    this.title = title;
    this.store = new EventStore();
    this.graph = new UnrolledGraph(svg, overview, { onSelect: () => {}, onHover: () => {} });
    this.socket = new TraceSocket({ onMessage: (msg) => this.onMessage(msg), onClose: () => {} });
    this.frame = null;
    this.shown = false;   // the card is on screen (the state its drawing follows, not card.hidden)
  }

  /** Stream the teacher-forced run of `config` (a trained network's when source is "trained"). */
  show({ config, source }) {
    this.shown = true;
    this.card.hidden = false;
    delete this.card.dataset.status;
    this.title.textContent = 'Teacher forced: the same weights reading the true inputs';
    this.socket.start({
      config: { ...config, unroll: 'teacher_forced' }, source, mode: 'play', delayMs: null, breakpoints: [],
    });
  }

  /** Stop the stream and hide the card. */
  hide() {
    this.socket.close();
    this.shown = false;
    this.card.hidden = true;
  }

  onMessage(msg) {
    if (msg.type === 'meta') {
      this.store.reset(msg);
      this.graph.build(msg);
    } else if (msg.type === 'event') {
      this.store.add(msg);
    } else if (msg.type === 'summary') {
      this.store.setSummary(msg);
      this.title.textContent = `Teacher forced: the same weights reading the true inputs · L = ${fmt(this.store.summary.loss)}`;
    } else if (msg.type === 'done') {
      this.card.dataset.status = 'done';
    } else if (msg.type === 'error') {
      this.title.textContent = `Teacher forced: ${msg.detail}`;
    }
    this.requestRender();
  }

  /** Draw the last received event's state once per frame. */
  requestRender() {
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      if (!this.store.meta || !this.shown) return;
      this.graph.render({ store: this.store, cursor: this.store.count - 1, hover: null, selected: null, pausedSeq: null });
    });
  }
}
