// Package scene holds the parts of the CamLens view that do not need a
// browser or a GPU: the scene description the page sends (base images,
// explanation maps, box and peak), the panel layout, the hover look-up of a
// map value, the packing of a map into a texture and the Kage shader that
// colours and blends it. The ebiten program in wasm/view draws a Scene.
package scene
