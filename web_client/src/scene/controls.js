/**
 * Input: keyboard (WASD / arrows, Q/E strafe), mouse or finger drag on the scene to turn,
 * a tap on the ground to walk there, and the on-screen joystick for thumbs. Produces the
 * input record that state/movement.js consumes.
 */
import { joystickInput, joystickVector, knobOffset } from '../state/joystick.js';

const KEYS = {
  KeyW: 'fwd', ArrowUp: 'fwd', KeyS: 'back', ArrowDown: 'back',
  KeyA: 'left', ArrowLeft: 'left', KeyD: 'right', ArrowRight: 'right',
  KeyQ: 'strafeL', KeyE: 'strafeR',
};
const DRAG_THRESHOLD = 8; // px before a press counts as a drag rather than a tap
const TURN_PER_PX = 0.006;

function typingTarget(el) {
  return el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName));
}

export class Controls {
  /**
   * @param {HTMLElement} surface the canvas
   * @param {HTMLElement} joystick pad element holding a `.knob` child
   * @param {(clientX:number, clientY:number) => void} onTap
   */
  constructor(surface, joystick, onTap) {
    this.surface = surface;
    this.joystick = joystick;
    this.knob = joystick.querySelector('.knob');
    this.onTap = onTap;
    this.held = new Set();
    this.turnBy = 0;
    this.stick = { x: 0, y: 0, magnitude: 0 };
    this.enabled = false;
    this.press = null;
    this.stickPointer = null;
    this.#bind();
  }

  #bind() {
    addEventListener('keydown', (e) => {
      const k = KEYS[e.code];
      if (!k || !this.enabled || typingTarget(e.target) || e.altKey || e.ctrlKey || e.metaKey) return;
      this.held.add(k);
      e.preventDefault();
    });
    addEventListener('keyup', (e) => {
      const k = KEYS[e.code];
      if (k) this.held.delete(k);
    });
    addEventListener('blur', () => this.held.clear());

    const s = this.surface;
    s.addEventListener('pointerdown', (e) => {
      if (!this.enabled || this.press) return;
      // give the keyboard back to the scene after using a select or input in the HUD
      if (typingTarget(document.activeElement)) document.activeElement.blur();
      this.press = { id: e.pointerId, x0: e.clientX, y0: e.clientY, x: e.clientX, drag: false, t: performance.now() };
      s.setPointerCapture?.(e.pointerId);
    });
    s.addEventListener('pointermove', (e) => {
      const p = this.press;
      if (!p || p.id !== e.pointerId) return;
      if (!p.drag && Math.hypot(e.clientX - p.x0, e.clientY - p.y0) > DRAG_THRESHOLD) p.drag = true;
      if (p.drag) this.turnBy -= (e.clientX - p.x) * TURN_PER_PX;
      p.x = e.clientX;
    });
    const end = (e) => {
      const p = this.press;
      if (!p || p.id !== e.pointerId) return;
      this.press = null;
      if (e.type === 'pointerup' && !p.drag && performance.now() - p.t < 600) this.onTap(e.clientX, e.clientY);
    };
    s.addEventListener('pointerup', end);
    s.addEventListener('pointercancel', end);

    const j = this.joystick;
    j.addEventListener('pointerdown', (e) => {
      if (!this.enabled) return;
      this.stickPointer = e.pointerId;
      j.setPointerCapture?.(e.pointerId);
      this.#stickAt(e);
      e.preventDefault();
    });
    j.addEventListener('pointermove', (e) => {
      if (e.pointerId === this.stickPointer) this.#stickAt(e);
    });
    const release = (e) => {
      if (e.pointerId !== this.stickPointer) return;
      this.stickPointer = null;
      this.stick = { x: 0, y: 0, magnitude: 0 };
      this.knob.style.transform = '';
      j.classList.remove('active');
    };
    j.addEventListener('pointerup', release);
    j.addEventListener('pointercancel', release);
  }

  #stickAt(e) {
    const r = this.joystick.getBoundingClientRect();
    const radius = r.width / 2;
    const dx = e.clientX - (r.left + radius);
    const dy = e.clientY - (r.top + r.height / 2);
    this.stick = joystickVector(dx, dy, radius * 0.8);
    const k = knobOffset(dx, dy, radius * 0.6);
    this.knob.style.transform = `translate(${k.x.toFixed(1)}px, ${k.y.toFixed(1)}px)`;
    this.joystick.classList.add('active');
  }

  /** Forget held keys and the stick (leaving a room, focus moving to a form). */
  reset() {
    this.held.clear();
    this.turnBy = 0;
    this.press = null;
    this.stick = { x: 0, y: 0, magnitude: 0 };
    this.knob.style.transform = '';
  }

  /** The input for this frame; the accumulated drag turn is consumed. */
  read() {
    const h = this.held;
    const kb = {
      forward: (h.has('fwd') ? 1 : 0) - (h.has('back') ? 1 : 0),
      strafe: (h.has('strafeR') ? 1 : 0) - (h.has('strafeL') ? 1 : 0),
      turn: (h.has('left') ? 1 : 0) - (h.has('right') ? 1 : 0),
    };
    const js = joystickInput(this.stick);
    const out = {
      forward: kb.forward || js.forward,
      strafe: kb.strafe,
      turn: kb.turn || js.turn,
      turnBy: this.turnBy,
    };
    this.turnBy = 0;
    return out;
  }
}
