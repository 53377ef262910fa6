import json
lib=open('vendor/echarts-6.1.0/package/dist/echarts.min.js').read()
data=open('data.json').read()
table=open('table.js').read()
app=r'''
const D=JSON.parse(document.getElementById('data').textContent);
let pending=0; const charts=[];
function chart(id,opt,h){const el=document.createElement('div');el.style.cssText='width:1300px;height:'+(h||360)+'px';document.body.appendChild(el);const c=echarts.init(el);pending++;c.on('finished',function f(){c.off('finished',f);if(--pending===0)done();});c.setOption(opt);charts.push(c);return c;}
const vc={better:'#1a9850',worse:'#d73027',equivalent:'#4575b4'};
const comps=D.comparisons;
chart('forest',{grid:{left:200,right:260},xAxis:{type:'value'},yAxis:{type:'category',data:comps.map(c=>c.name),inverse:true},
 series:[{type:'custom',renderItem:(p,api)=>{const y=api.coord([0,api.value(0)])[1];const lo=api.coord([api.value(1),0])[0],hi=api.coord([api.value(2),0])[0],d=api.coord([api.value(3),0])[0];const m0=api.coord([-api.value(4),0])[0],m1=api.coord([api.value(4),0])[0];const col=vc[comps[p.dataIndex].verdict]||'#888';
  return {type:'group',children:[{type:'rect',shape:{x:m0,y:y-8,width:m1-m0,height:16},style:{fill:'#eee'}},{type:'line',shape:{x1:lo,y1:y,x2:hi,y2:y},style:{stroke:col,lineWidth:2}},{type:'circle',shape:{cx:d,cy:y,r:4},style:{fill:col}},{type:'text',x:1300-250,y:y,style:{text:comps[p.dataIndex].verdict,fill:col,verticalAlign:'middle'}}]};},
 data:comps.map((c,i)=>[i,c.lower,c.upper,c.diff,c.margin]),encode:{x:[1,2],y:0}}],tooltip:{}},480);
for(const m of ['chamfer','sw','mmd']){
  const groups={};for(const c of D.cells){const k=c.kind+' K='+c.steps+' '+c.method;(groups[k+'|'+c.scaling]=groups[k+'|'+c.scaling]||[]).push(c);}
  const series=[];const grids=[{left:60,width:'38%'},{left:'52%',width:'38%'}];
  for(const [k,cs] of Object.entries(groups)){const [name,sc]=k.split('|');const gi=sc==='minmax'?0:1;cs.sort((a,b)=>a.T-b.T);
    series.push({type:'line',name,xAxisIndex:gi,yAxisIndex:gi,data:cs.map(c=>[c.T,c[m][0]])});
    series.push({type:'custom',name,xAxisIndex:gi,yAxisIndex:gi,silent:true,renderItem:(p,api)=>{if(p.dataIndex>0)return;const pts=cs.map(c=>api.coord([c.T,c[m][2]])).concat(cs.slice().reverse().map(c=>api.coord([c.T,c[m][1]])));return {type:'polygon',shape:{points:pts},style:{fill:'rgba(100,100,200,0.1)'}};},data:[[0,0]]});}
  chart(m,{legend:{type:'scroll',top:0,right:0,orient:'vertical'},tooltip:{trigger:'axis'},grid:grids,xAxis:[{type:'log',gridIndex:0},{type:'log',gridIndex:1}],yAxis:[{type:'log',gridIndex:0},{type:'log',gridIndex:1}],series});
}
const dims=['T','kind','scaling','steps','method','seed','chamfer','sw','mmd'];
const cat={kind:['cosine','ddpm','linear','polynomial'],scaling:['minmax','standardize'],method:['ancestral','ddim']};
const pc=chart('pc',{parallelAxis:dims.map((d,i)=>cat[d]?{dim:i,name:d,type:'category',data:cat[d]}:{dim:i,name:d}),parallel:{left:60,right:80},
 series:[{type:'parallel',lineStyle:{width:0.5,opacity:0.3},progressive:2000,data:D.runs.map(r=>dims.map(d=>r[d]))}]},400);
const tdiv=document.createElement('div');document.body.appendChild(tdiv);
const table=new VTable(tdiv,D.runs,['T','kind','scaling','steps','method','seed','status','chamfer','sw','mmd']);
pc.on('axisareaselected',()=>{const s=pc.getModel().getSeries()[0];const idx=new Set(s.getRawIndicesByActiveState('active'));table.filter(r=>true);});
function done(){setTimeout(()=>{window.diffsweepReadyAt=performance.now();},0);}
'''
html='<!doctype html><html><head><meta charset="utf-8"><title>echarts proto</title></head><body><script>'+lib+'</script><script type="application/json" id="data">'+data+'</script><script>'+table+app+'</script></body></html>'
open('echarts.html','w').write(html)
print(len(html))
