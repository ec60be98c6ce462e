/**
 * Camera placement: a third-person camera that follows the own avatar, or a fixed view
 * that frames the stage from the audience side (default in committee and consultation
 * rooms). Seated members looking "forward" see the audience over their shoulder.
 */
import * as THREE from 'three';

export class CameraRig {
  constructor(camera) {
    this.camera = camera;
    this.mode = 'follow';
    this.stage = null;
    this.pos = new THREE.Vector3(0, 6, 14);
    this.look = new THREE.Vector3(0, 1, 0);
    this.first = true;
  }

  /** Point at a new room; `mode` is 'follow' or 'stage'. */
  reset(stage, mode, audience = null) {
    this.stage = stage;
    this.audience = audience; // {x, z} a seated member looks toward
    this.mode = stage ? mode : 'follow';
    this.first = true;
  }

  setMode(mode) {
    this.mode = mode === 'stage' && this.stage ? 'stage' : 'follow';
  }

  /** True when the camera sits in the own avatar's head (which is then hidden). */
  firstPerson(self) {
    return this.mode === 'follow' && !!self && self.seated;
  }

  #stageView(outPos, outLook) {
    const st = this.stage;
    const cam = this.camera;
    const vfov = THREE.MathUtils.degToRad(cam.fov);
    const hfov = 2 * Math.atan(Math.tan(vfov / 2) * cam.aspect);
    const halfW = st.width / 2 + 1.5;
    // far enough to fit the stage width on narrow phones, and its height on wide screens
    const dist = THREE.MathUtils.clamp(Math.max(halfW / Math.tan(hfov / 2), 4.5 / Math.tan(vfov / 2)), 8, 34);
    const front = st.z + st.depth / 2;
    // on portrait screens look down more so the gallery fills the lower half
    const tall = cam.aspect < 1;
    outPos.set(st.x, 2.2 + dist * (tall ? 0.3 : 0.16), front + dist - st.depth / 2);
    outLook.set(st.x, tall ? 0.6 : 1.5, tall ? st.z + dist * 0.22 : st.z);
  }

  /**
   * Move the camera toward where it should be. `self` is {x, y, z, h, seated} of the own
   * avatar (rendered pose), dt in seconds.
   */
  update(dt, self) {
    const wantPos = new THREE.Vector3();
    const wantLook = new THREE.Vector3();
    if (this.mode === 'stage' && this.stage) this.#stageView(wantPos, wantLook);
    else if (self && self.seated) {
      // seated: the member's own eyes, looking out over the audience
      // seats at the ends of an arc face inward: look at the audience itself
      const fx = -Math.sin(self.h), fz = -Math.cos(self.h);
      wantPos.set(self.x + fx * 0.25, self.y + 0.9, self.z + fz * 0.25);
      if (this.audience) wantLook.set(this.audience.x, 0.8, this.audience.z);
      else wantLook.set(self.x + fx * 10, self.y + 0.5, self.z + fz * 10);
    } else if (self) {
      const fx = -Math.sin(self.h), fz = -Math.cos(self.h);
      // portrait phones see less sideways: pull back and up so the surroundings show
      const portrait = this.camera.aspect < 1 ? 1.45 : 1;
      wantPos.set(self.x - fx * 4.6 * portrait, self.y + 2.6 * portrait, self.z - fz * 4.6 * portrait);
      wantLook.set(self.x + fx * 2, self.y + 1.3, self.z + fz * 2);
    } else return;
    const k = this.first ? 1 : 1 - Math.exp(-dt * 7);
    this.first = false;
    this.pos.lerp(wantPos, k);
    this.look.lerp(wantLook, k);
    this.camera.position.copy(this.pos);
    this.camera.lookAt(this.look);
  }
}
