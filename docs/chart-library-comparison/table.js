function VTable(el, rows, cols){
  const H=24, view=document.createElement('div'); view.style.cssText='height:400px;overflow:auto;position:relative;font:12px sans-serif';
  const inner=document.createElement('div'); view.appendChild(inner); el.appendChild(view);
  let order=rows.map((_,i)=>i);
  function draw(){ inner.style.height=(order.length*H)+'px'; const top=view.scrollTop, first=Math.floor(top/H), n=Math.ceil(400/H)+2;
    let h=''; for(let i=first;i<Math.min(order.length,first+n);i++){const r=rows[order[i]]; h+='<div style="position:absolute;top:'+(i*H)+'px;height:'+H+'px">'+cols.map(c=>'<span style="display:inline-block;width:110px">'+r[c]+'</span>').join('')+'</div>';}
    inner.innerHTML=h; }
  view.addEventListener('scroll',draw);
  this.sort=function(c){order.sort((a,b)=>(rows[a][c]??Infinity)-(rows[b][c]??Infinity)); draw();};
  this.filter=function(f){order=rows.map((_,i)=>i).filter(i=>f(rows[i])); draw();};
  draw();
}
